import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { ApprovalAction, incidentContactsProblem, isPlaceholder } from "@paulp/contracts";
import type { AdminClient, Answer } from "../client";
import {
  badD1Ids,
  DEPLOYED_WORKERS,
  type DeployedWorker,
  envConfig,
  routeHosts,
  secretsInConfig,
  type Target,
  type WorkerEnvConfig,
} from "./config";

/** One line of the specification's pre-live checklist, judged. */
export interface CheckLine {
  /** The checklist's own words. */
  item: string;
  ok: boolean;
  reason: string;
}

export interface PreflightInput {
  target: Target;
  /** The repository root (configs and docs). */
  root: string;
  /** The deployed (or local) gateway; without it every live check fails, saying so. */
  client: AdminClient | null;
  /** Secret names set for a worker in the target (`wrangler secret list`, or .dev.vars locally). */
  listSecrets(worker: DeployedWorker): Promise<string[]>;
  now(): number;
}

/** The newest anchor may be this old: the hourly anchor cron, with half an hour to spare. */
export const MAX_ANCHOR_AGE_SECONDS = 90 * 60;
/** Full-verification steps to take before giving up (each step gets further or the loop stops). */
const MAX_VERIFY_STEPS = 1_000;

const pass = (item: string, reason: string): CheckLine => ({ item, ok: true, reason });
const fail = (item: string, reason: string): CheckLine => ({ item, ok: false, reason });

/** Run every check; never throws (a check that cannot run fails with why). */
export async function preflight(input: PreflightInput): Promise<CheckLine[]> {
  const configs = new Map<DeployedWorker, WorkerEnvConfig | Error>();
  for (const w of DEPLOYED_WORKERS) {
    try {
      configs.set(w, envConfig(input.root, w, input.target));
    } catch (error) {
      configs.set(w, error as Error);
    }
  }
  const live = new Live(input.client);
  const checks: Array<() => Promise<CheckLine | CheckLine[]>> = [
    () => secretsSet(input, configs),
    () => adminTokenStrong(live),
    () => accessConfigured(input, configs, live),
    () => previewsOff(configs),
    () => noSecretsInConfig(configs),
    () => noPlaceholderD1(input.target, configs),
    () => gatewayRoute(input, configs),
    () => anchoringVerified(live),
    () => reconciliationWorks(live),
    () => breakerTested(live),
    () => twoPersonDocumented(input.root, live),
    () => incidentContacts(input, configs, live),
  ];
  const lines: CheckLine[] = [];
  for (const check of checks) {
    try {
      const out = await check();
      lines.push(...(Array.isArray(out) ? out : [out]));
    } catch (error) {
      lines.push(fail("(a check that could not run)", (error as Error).message));
    }
  }
  return lines;
}

/** The gateway, asked at most once per route. */
class Live {
  private cache = new Map<string, Promise<Answer>>();
  constructor(readonly client: AdminClient | null) {}
  ask(method: string, route: string, body?: unknown): Promise<Answer> {
    if (!this.client) return Promise.reject(new Error("no gateway to ask: give --url (and a token)"));
    const key = `${method} ${route} ${JSON.stringify(body ?? null)}`;
    let answer = this.cache.get(key);
    if (!answer) {
      answer = this.client.call(method, route, body);
      this.cache.set(key, answer);
    }
    return answer;
  }
  /** The JSON of a 2xx answer; a refusal becomes a reason. */
  async json<T>(method: string, route: string, body?: unknown): Promise<T> {
    const a = await this.ask(method, route, body);
    if (!a.ok) {
      const e = (a.json as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new Error(`${method} ${route} answered ${a.status}${e ? ` ${e.code}: ${e.message}` : ""}`);
    }
    return a.json as T;
  }
  /** The gateway's own configuration checks from /admin/status (it answers 503 when degraded, with the body). */
  async gatewayCheck(name: string): Promise<{ ok: boolean; detail?: string } | undefined> {
    const a = await this.ask("GET", "/admin/status");
    const body = a.json as
      | { services?: { gateway?: { checks?: { name: string; ok: boolean; detail?: string }[] } } }
      | undefined;
    const checks = body?.services?.gateway?.checks;
    if (!checks) {
      const e = (a.json as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new Error(`GET /admin/status answered ${a.status}${e ? ` ${e.code}: ${e.message}` : ""}`);
    }
    return checks.find((c) => c.name === name);
  }
}

function gatewayConfigProblem(config: Error | undefined): string {
  return `workers/gateway/wrangler.jsonc: ${config?.message ?? "missing"}`;
}

function configured(configs: Map<DeployedWorker, WorkerEnvConfig | Error>) {
  const ok: [DeployedWorker, WorkerEnvConfig][] = [];
  const broken: string[] = [];
  for (const [w, c] of configs) {
    if (c instanceof Error) broken.push(`${w}: ${c.message}`);
    else ok.push([w, c]);
  }
  return { ok, broken };
}

async function secretsSet(
  input: PreflightInput,
  configs: Map<DeployedWorker, WorkerEnvConfig | Error>,
): Promise<CheckLine[]> {
  const item = "All secrets set via `wrangler secret put`";
  const { ok, broken } = configured(configs);
  const lines = broken.map((b) => fail(item, b));
  for (const [w, c] of ok) {
    const required = c.secrets?.required ?? [];
    let set: string[];
    try {
      set = await input.listSecrets(w);
    } catch (error) {
      lines.push(fail(`${item}: ${w}`, `could not list its secrets: ${(error as Error).message}`));
      continue;
    }
    const missing = required.filter((s) => !set.includes(s));
    lines.push(
      missing.length === 0
        ? pass(`${item}: ${w}`, required.length ? `${required.join(", ")} set` : "needs none")
        : fail(`${item}: ${w}`, `not set: ${missing.join(", ")}`),
    );
  }
  return lines;
}

async function adminTokenStrong(live: Live): Promise<CheckLine> {
  const item = "ADMIN_TOKEN is strong (32+ characters)";
  try {
    const check = await live.gatewayCheck("admin_token");
    if (!check) return fail(item, "the gateway does not report its token's strength (an older gateway?)");
    return check.ok
      ? pass(item, `the gateway judges it: ${check.detail}`)
      : fail(item, check.detail ?? "refused");
  } catch (error) {
    const message = (error as Error).message;
    return fail(
      item,
      /admin_auth_misconfigured/.test(message)
        ? "the gateway refuses its ADMIN_TOKEN (admin routes closed); sign in through Access (PAULP_ACCESS_JWT) to see why"
        : message,
    );
  }
}

async function accessConfigured(
  input: PreflightInput,
  configs: Map<DeployedWorker, WorkerEnvConfig | Error>,
  live: Live,
): Promise<CheckLine> {
  const item = "Cloudflare Access configured for admin routes";
  const gateway = configs.get("gateway");
  if (!(gateway && !(gateway instanceof Error))) return fail(item, gatewayConfigProblem(gateway));
  const team = String(gateway.vars?.ACCESS_TEAM_DOMAIN ?? "").trim();
  const aud = String(gateway.vars?.ACCESS_AUD ?? "").trim();
  const problems = [
    !team && "ACCESS_TEAM_DOMAIN is empty",
    team && isPlaceholder(team) && `ACCESS_TEAM_DOMAIN ${team} is a placeholder`,
    input.target !== "local" &&
      team &&
      !/\.cloudflareaccess\.com$/.test(team) &&
      `ACCESS_TEAM_DOMAIN ${team} is not a *.cloudflareaccess.com team`,
    !aud && "ACCESS_AUD is empty",
    aud && isPlaceholder(aud) && "ACCESS_AUD is a placeholder",
  ].filter(Boolean);
  if (problems.length > 0) return fail(item, `${problems.join("; ")} (workers/gateway/wrangler.jsonc)`);
  try {
    const check = await live.gatewayCheck("access");
    if (!check) return fail(item, "the gateway does not report its Access configuration");
    return check.ok ? pass(item, check.detail ?? "ok") : fail(item, `the gateway says: ${check.detail}`);
  } catch (error) {
    return fail(item, (error as Error).message);
  }
}

async function previewsOff(configs: Map<DeployedWorker, WorkerEnvConfig | Error>): Promise<CheckLine> {
  const item = "`workers_dev` and `preview_urls` off";
  const { ok, broken } = configured(configs);
  // Both default to on when not written: only an explicit false is off.
  const on = ok.flatMap(([w, c]) => [
    ...(c.workers_dev === false ? [] : [`${w}: workers_dev`]),
    ...(c.preview_urls === false ? [] : [`${w}: preview_urls`]),
  ]);
  const bad = [...broken, ...on];
  return bad.length === 0
    ? pass(item, "false in every worker's config")
    : fail(item, `not false: ${bad.join(", ")}`);
}

async function noSecretsInConfig(configs: Map<DeployedWorker, WorkerEnvConfig | Error>): Promise<CheckLine> {
  const item = "No secrets in wrangler config or code";
  const { ok, broken } = configured(configs);
  const found = ok.flatMap(([w, c]) => secretsInConfig(c).map((f) => `${w}: ${f}`));
  const bad = [...broken, ...found];
  return bad.length === 0
    ? pass(item, "no var named or shaped like a secret in any config")
    : fail(item, `in config: ${bad.join(", ")} (use wrangler secret put)`);
}

async function noPlaceholderD1(
  target: Target,
  configs: Map<DeployedWorker, WorkerEnvConfig | Error>,
): Promise<CheckLine> {
  const item = "No placeholder D1 database ids";
  const { ok, broken } = configured(configs);
  const bad = [...broken, ...ok.flatMap(([w, c]) => badD1Ids(c, target).map((d) => `${w}: ${d}`))];
  return bad.length === 0
    ? pass(item, target === "local" ? "local databases" : "every database_id is a UUID")
    : fail(item, `placeholder or malformed: ${bad.join(", ")}`);
}

async function gatewayRoute(
  input: PreflightInput,
  configs: Map<DeployedWorker, WorkerEnvConfig | Error>,
): Promise<CheckLine> {
  const item = "A route or custom domain for the gateway";
  if (input.target === "local") {
    return input.client
      ? pass(item, `local mesh at ${input.client.base.origin}`)
      : fail(item, "no local gateway URL given");
  }
  const gateway = configs.get("gateway");
  if (!(gateway && !(gateway instanceof Error))) return fail(item, gatewayConfigProblem(gateway));
  const hosts = routeHosts(gateway);
  if (hosts.length === 0) return fail(item, `env.${input.target} attaches no route or custom domain`);
  const placeholders = hosts.filter((h) => isPlaceholder(h));
  if (placeholders.length > 0)
    return fail(
      item,
      `placeholder hostname ${placeholders.join(", ")}: set your own in workers/gateway/wrangler.jsonc`,
    );
  // The gateway asked must be the one configured (a local stand-in, as in tests, is not compared).
  const served = input.client && !input.client.local ? input.client.base.hostname : undefined;
  if (served && !hosts.includes(served))
    return fail(item, `configured ${hosts.join(", ")} but asked ${served}: check PAULP_URL`);
  return pass(item, hosts.join(", "));
}

interface AuditStatus {
  lastAnchor: unknown;
  lastAnchorAgeSeconds: number | null;
  integrity: string;
  headSeq: number;
}

async function anchoringVerified(live: Live): Promise<CheckLine> {
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

async function reconciliationWorks(live: Live): Promise<CheckLine> {
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

async function breakerTested(live: Live): Promise<CheckLine> {
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

async function twoPersonDocumented(root: string, live: Live): Promise<CheckLine> {
  const item = "Two-person approval process documented";
  const doc = path.join(root, "docs", "governance.md");
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

async function incidentContacts(
  input: PreflightInput,
  configs: Map<DeployedWorker, WorkerEnvConfig | Error>,
  live: Live,
): Promise<CheckLine> {
  const item = "Incident response contacts defined";
  const gateway = configs.get("gateway");
  if (!(gateway && !(gateway instanceof Error))) return fail(item, gatewayConfigProblem(gateway));
  const problem = incidentContactsProblem(gateway.vars?.INCIDENT_CONTACTS);
  if (problem)
    return fail(
      item,
      `${problem} (workers/gateway/wrangler.jsonc${input.target === "local" ? "" : ` env.${input.target}`})`,
    );
  const runbook = path.join(input.root, "docs", "runbook.md");
  if (!existsSync(runbook) || !readFileSync(runbook, "utf8").includes("INCIDENT_CONTACTS"))
    return fail(item, "docs/runbook.md does not say where the contacts are (INCIDENT_CONTACTS)");
  try {
    const check = await live.gatewayCheck("incident_contacts");
    if (!check) return fail(item, "the deployed gateway does not report its contacts (deploy it)");
    return check.ok
      ? pass(item, `configured and deployed: ${check.detail}`)
      : fail(item, `the deployed gateway says: ${check.detail}`);
  } catch (error) {
    return fail(item, (error as Error).message);
  }
}
