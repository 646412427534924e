import { runDurableObjectAlarm } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { type Principal, type ReplayRecord, systemPrincipal } from "@paulp/contracts";
import { createEgressFetch, createKalshiSigner } from "@paulp/kit";
import type { AuditDouble, GovernanceDouble, RecordedEvent, RiskDouble } from "@paulp/testing/doubles";
import { untilSettled } from "@paulp/testing/until";
import { replaceRulesStatements } from "../src/compliance";
import { type PipelineDeps, venueBuckets } from "../src/deps";
import type { Env } from "../src/env";
import type { IngestionEntrypoint } from "../src/index";

export interface TestEnv {
  D1_MARKETS: D1Database;
  R2_EVIDENCE: R2Bucket;
  /** The typed doubles of @paulp/testing (see vitest.config.ts), with their test controls. */
  AUDIT: AuditDouble & PipelineDeps["audit"];
  RISK: RiskDouble & NonNullable<PipelineDeps["risk"]>;
  GOVERNANCE: GovernanceDouble & NonNullable<PipelineDeps["governance"]>;
  VENUE_SIM: Fetcher;
  READ_BUDGET: Env["READ_BUDGET"];
  REPLAY_RUN: Env["REPLAY_RUN"];
  R2_REPLAYS: R2Bucket;
  KALSHI_READ_API_KEY: string;
  KALSHI_READ_PRIVATE_KEY: string;
  TEST_KALSHI_READ_PUBLIC_KEY: string;
}

export const tenv = env as unknown as TestEnv;
export const worker = () => (exports as unknown as { default: IngestionEntrypoint }).default;
export const ACTOR: Principal = systemPrincipal("test:ingestion");

/** Audit events the double recorded (append and appendMany, in order). */
export async function auditEvents(): Promise<RecordedEvent[]> {
  return tenv.AUDIT._events();
}

/** The payload of the one `ingestion.markets_skipped` event audited (one rule for both venues), checked to be one. */
export async function onlySkipAudit(): Promise<Record<string, unknown>> {
  const events = (await auditEvents()).filter((e) => e.type === "ingestion.markets_skipped");
  if (events.length !== 1)
    throw new Error(`expected one ingestion.markets_skipped event, got ${events.length}`);
  return events[0]!.payload;
}

/** Pipeline deps over the real bindings, with no real sleeping and recorded sleeps. */
export function testDeps(overrides: Partial<PipelineDeps> = {}): PipelineDeps & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    db: tenv.D1_MARKETS,
    bucket: tenv.R2_EVIDENCE,
    audit: tenv.AUDIT,
    risk: tenv.RISK,
    governance: tenv.GOVERNANCE,
    fetch: createEgressFetch({ simulator: tenv.VENUE_SIM, timeoutMs: 5_000 }),
    buckets: venueBuckets(Date.now()),
    now: Date.now,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    actor: ACTOR,
    client: { baseDelayMs: 1 },
    // Every Kalshi run is a full pass unless a test sets the interval (the incremental crawl has its own test).
    fullPassEveryMs: 0,
    kalshiSigner: createKalshiSigner({
      keyId: tenv.KALSHI_READ_API_KEY,
      privateKeyPem: tenv.KALSHI_READ_PRIVATE_KEY,
      now: Date.now,
    }),
    sleeps,
    ...overrides,
  };
}

/** Set a simulator fault. */
export async function fault(spec: Record<string, unknown>): Promise<void> {
  const res = await tenv.VENUE_SIM.fetch("https://api.elections.kalshi.com/__sim/faults", {
    method: "POST",
    body: JSON.stringify(spec),
  });
  if (res.status !== 201) throw new Error(`fault not set: ${await res.text()}`);
}

const TABLES = [
  "kalshi_events",
  "kalshi_series",
  "markets",
  "order_books",
  "compliance_blocks",
  "compliance_rules",
  "compliance_meta",
  "compliance_versions",
  "evidence_sightings",
  "evidence_fetches",
  "replays",
  "market_snapshots",
  "ingest_state",
  "ingest_runs",
  "evidence",
  "evidence_index_audit",
];

/** Empty every table, the evidence bucket, the simulator's faults and the stubs' records. */
export async function resetAll(): Promise<void> {
  await tenv.D1_MARKETS.batch(TABLES.map((t) => tenv.D1_MARKETS.prepare(`DELETE FROM ${t}`)));
  for (;;) {
    const list = await tenv.R2_EVIDENCE.list({ limit: 1000 });
    if (list.objects.length === 0) break;
    await tenv.R2_EVIDENCE.delete(list.objects.map((o) => o.key));
  }
  await tenv.VENUE_SIM.fetch("https://api.elections.kalshi.com/__sim/faults", { method: "DELETE" });
  await Promise.all([tenv.AUDIT._reset(), tenv.RISK._reset(), tenv.GOVERNANCE._reset()]);
}

export async function count(table: string, where = "1 = 1", ...binds: unknown[]): Promise<number> {
  const row = await tenv.D1_MARKETS.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`)
    .bind(...binds)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** Rules version 1: the whole of Kalshi blocked (written as an admin's PUT writes it). */
export async function blockKalshi(): Promise<void> {
  await tenv.D1_MARKETS.batch(
    replaceRulesStatements(
      tenv.D1_MARKETS,
      [{ id: "no-kalshi", kind: "venue", value: "kalshi", reason: "policy" }],
      1,
      new Date().toISOString(),
      "admin",
    ),
  );
}

/**
 * Run the replay's alarms until it ends (each alarm is one bounded step; workerd may also run them on its own);
 * answers the record and the steps the run took.
 */
export async function runToEnd(id: string, maxSteps = 50): Promise<{ record: ReplayRecord; steps: number }> {
  const stub = tenv.REPLAY_RUN.getByName(id);
  for (let i = 0; i < maxSteps; i++) {
    const record = await worker().getReplay(id);
    if (!record.ok) throw new Error(record.error.message);
    if (record.value.status !== "running")
      return { record: record.value, steps: (await stub.progress())?.steps ?? 0 };
    if (!(await runDurableObjectAlarm(stub))) {
      // No alarm was due: workerd is running the step on its own; wait (bounded) for it to move the run on.
      const before = JSON.stringify(await stub.progress());
      await untilSettled(
        async () => JSON.stringify(await stub.progress()),
        (now) => now !== before,
        80,
      );
    }
  }
  throw new Error(`replay ${id} did not end in ${maxSteps} alarms`);
}
