// The checklist items the running mesh proves by what it has done: anchored and verified the audit chain,
// reconciled, drilled the breaker, rosters for the two-person desk.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { ApprovalAction } from "@paulp/contracts";
import { type CheckLine, type Context, fail, pass } from "./check";
import type { Live } from "./live";

/** The newest anchor may be this old: the hourly anchor cron, with half an hour to spare. */
export const MAX_ANCHOR_AGE_SECONDS = 90 * 60;
/** Full-verification steps to take before giving up (each step gets further or the loop stops). */
const MAX_VERIFY_STEPS = 1_000;

interface AuditStatus {
  lastAnchor: unknown;
  lastAnchorAgeSeconds: number | null;
  integrity: string;
  headSeq: number;
}

export async function anchoringVerified({ live }: Context): Promise<CheckLine> {
  const item = "Audit chain anchoring verified";
  try {
    const status = await live.json<AuditStatus>("GET", "/admin/audit/status");
    if (!status.lastAnchor || status.lastAnchorAgeSeconds === null)
      return fail(item, "no anchor yet (the hourly cron, or POST /admin/audit/anchor)");
    if (status.lastAnchorAgeSeconds > MAX_ANCHOR_AGE_SECONDS)
      return fail(
        item,
        `the last anchor is ${Math.round(status.lastAnchorAgeSeconds / 60)} min old (over 90)`,
      );
    let reached = -1;
    for (let step = 0; step < MAX_VERIFY_STEPS; step++) {
      const a = await live.client!.call("POST", "/admin/audit/verify", { mode: "full" });
      const v = a.json as {
        ok?: boolean;
        complete?: boolean;
        toSeq?: number;
        brokenSeq?: number;
        reason?: string;
      };
      if (!a.ok) return fail(item, `full verification answered ${a.status}: ${a.text.slice(0, 200)}`);
      if (v.ok === false) return fail(item, `full verification: broken at ${v.brokenSeq} (${v.reason})`);
      if (v.complete !== false)
        return pass(
          item,
          `anchor ${Math.round(status.lastAnchorAgeSeconds / 60)} min old; full verification ok to entry ${status.headSeq}`,
        );
      if (!(typeof v.toSeq === "number" && v.toSeq > reached))
        return fail(item, `full verification did not get past entry ${reached}`);
      reached = v.toSeq;
    }
    return fail(item, `full verification not complete after ${MAX_VERIFY_STEPS} steps`);
  } catch (error) {
    return fail(item, (error as Error).message);
  }
}

interface Reconciliation {
  at: string;
  venues: { venue: string; status: string; detail?: string }[];
  drifts: unknown[];
}

export async function reconciliationWorks({ live }: Context): Promise<CheckLine> {
  const item = "Position reconciliation working";
  try {
    // Run it now: what it reports is as recent as it gets (and it is audited like the 15-minute cron's).
    const r = await live.json<Reconciliation>("POST", "/admin/reconcile");
    const down = r.venues.filter((v) => v.status === "unavailable");
    if (down.length > 0)
      return fail(
        item,
        `unavailable: ${down.map((v) => `${v.venue} (${v.detail ?? "no detail"})`).join(", ")}`,
      );
    if (r.drifts.length > 0) return fail(item, `${r.drifts.length} market(s) drift from the venues`);
    return pass(
      item,
      `ran at ${r.at}: ${r.venues.map((v) => `${v.venue} ${v.status}`).join(", ")}; no drift`,
    );
  } catch (error) {
    return fail(item, (error as Error).message);
  }
}

/** What a breaker transition records in the audit chain. */
interface TransitionEntry {
  seq: number;
  ts: string;
  actor: { method: string; subject: string };
  payload: { from: string; to: string };
}

/** The audited breaker transitions, read from the export (the chain is the record that counts). */
async function breakerTransitions(live: Live): Promise<TransitionEntry[]> {
  const a = await live.ask("GET", "/admin/audit/export");
  if (!a.ok) throw new Error(`GET /admin/audit/export answered ${a.status}`);
  return a.text
    .split("\n")
    .filter((l) => l.includes('"risk.breaker_transition"'))
    .map((l) => JSON.parse(l) as TransitionEntry & { kind: string; type: string })
    .filter((e) => e.kind === "entry" && e.type === "risk.breaker_transition");
}

export async function breakerTested({ live }: Context): Promise<CheckLine> {
  const item = "Circuit breaker tested";
  try {
    const transitions = await breakerTransitions(live);
    // A test: an operator halts, and the breaker is then brought out of HALT (RECOVERY, the runbook's drill).
    const halt = transitions.find((t) => t.payload.to === "HALT" && t.actor.method !== "system");
    const out = halt && transitions.find((t) => t.seq > halt.seq && t.payload.from === "HALT");
    if (!halt)
      return fail(item, "no operator HALT in the audit chain: run the runbook's HALT → RECOVERY drill");
    if (!out) return fail(item, `HALT at ${halt.ts} was never followed by RECOVERY`);
    return pass(item, `HALT by ${halt.actor.subject} at ${halt.ts}, then ${out.payload.to} at ${out.ts}`);
  } catch (error) {
    return fail(item, (error as Error).message);
  }
}

export async function twoPersonDocumented({ input, live }: Context): Promise<CheckLine> {
  const item = "Two-person approval process documented";
  const doc = path.join(input.root, "docs", "governance.md");
  if (!existsSync(doc)) return fail(item, "docs/governance.md is missing");
  const text = readFileSync(doc, "utf8");
  const undocumented = ApprovalAction.options.filter((a) => !text.includes(a));
  if (undocumented.length > 0)
    return fail(item, `docs/governance.md does not name ${undocumented.join(", ")}`);
  try {
    const rosters = await live.json<
      { action: string; roster: { approvers: string[] } | null; error: { message: string } | null }[]
    >("GET", "/admin/approvers");
    const short = rosters.filter((r) => !r.roster || r.roster.approvers.length < 3);
    if (short.length > 0)
      return fail(
        item,
        `approver rosters need three people each: ${short.map((r) => `${r.action} (${r.error?.message ?? `${r.roster?.approvers.length ?? 0} named`})`).join(", ")}`,
      );
    return pass(item, `docs/governance.md names every action; ${rosters.length} rosters of 3+ people`);
  } catch (error) {
    return fail(item, (error as Error).message);
  }
}
