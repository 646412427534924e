// The replay runner (#18 item 4, src/replay/*): a replay of the recorded fetches runs in bounded alarm steps in its
// own Durable Object, stores its report create-only, audits the report's hash before it is complete, and refuses
// evidence whose bytes no longer hash to their name. The engine is @paulp/replay's, run here in workerd; the same
// set replayed in one call by the engine gives the same report hash.
import { runInDurableObject } from "cloudflare:test";
import { sha256Hex } from "@paulp/kit";
import { reportHash, runReplay } from "@paulp/replay";
import { beforeEach, describe, expect, it } from "vitest";
import { storeEvidence } from "../src/evidence";
import { engineStart } from "../src/replay/engine-adapter";
import { loadProgress, saveProgress } from "../src/replay/progress-store";
import { ACTOR, auditEvents, count, resetAll, runToEnd, tenv, worker } from "./helpers";

beforeEach(async () => {
  await resetAll();
  for (;;) {
    const list = await tenv.R2_REPLAYS.list({ limit: 1000 });
    if (list.objects.length === 0) break;
    await tenv.R2_REPLAYS.delete(list.objects.map((o) => o.key));
  }
});

const URL_K = "https://api.elections.kalshi.com/trade-api/v2/markets/KXA-1/orderbook";
const at = (s: number) => new Date(Date.UTC(2026, 10, 24, 10, 0, s)).toISOString();
const WINDOW = { from: "2026-11-24T10:00:00.000Z", to: "2026-11-24T11:00:00.000Z" };

/** Five fetches of a Kalshi book that went A, B, A, B, A; answers the two objects' hashes. */
async function recordBooks(): Promise<string[]> {
  const hashes: string[] = [];
  for (const [i, yes] of ["0.40", "0.41", "0.40", "0.41", "0.40"].entries()) {
    const bytes = new TextEncoder().encode(
      `{"orderbook_fp":{"yes_dollars":[["${yes}","10.00"]],"no_dollars":[]}}`,
    );
    const answer = { url: URL_K, status: 200, contentType: "application/json", bytes, retryAfter: null };
    hashes.push(
      await storeEvidence({ bucket: tenv.R2_EVIDENCE, db: tenv.D1_MARKETS }, "kalshi", answer, at(i)),
    );
  }
  return hashes;
}

async function start(strategyId = "stg_replay") {
  const started = await worker().startReplay({ strategyId, ...WINDOW }, ACTOR);
  if (!started.ok) throw new Error(started.error.message);
  expect(started.value.status).toBe("running");
  expect(started.value.totalSightings).not.toBeNull();
  return started.value;
}

describe("a replay in the mesh", () => {
  it("replays every fetch in steps, stores the report, audits its hash, then is complete", async () => {
    const [a, b] = await recordBooks();
    const record = await start();
    const { record: done, steps } = await runToEnd(record.id);
    // The window's five fetches were counted when it started: progress reads as a share of them.
    expect(record.totalSightings).toBe(5);
    expect(done).toMatchObject({ status: "complete", sightings: 5, totalSightings: 5, failure: null });
    // Two sightings a step: three steps read the five, the last also finishes.
    expect(steps).toBe(3);

    const stored = await tenv.R2_REPLAYS.get(`reports/${record.id}.json`);
    const text = (await stored?.text()) ?? "";
    expect(await sha256Hex(text)).toBe(done.reportHash);
    const report = await worker().getReplayReport(record.id);
    expect(report.ok && report.value.reportHash).toBe(done.reportHash);
    expect(report.ok && report.value.report.manifest).toMatchObject({
      sightings: 5,
      evidence: [a, b].sort(),
      window: WINDOW,
    });

    const events = (await auditEvents()).filter((e) => e.type.startsWith("ingestion.replay_"));
    expect(events.map((e) => e.type)).toEqual(["ingestion.replay_requested", "ingestion.replay_completed"]);
    expect(events[1]?.payload).toMatchObject({
      replayId: record.id,
      reportHash: done.reportHash,
      sightings: 5,
    });

    // The engine over the same set in one call, in this runtime: the same report, the same hash.
    const limits = await tenv.RISK.getLimits();
    const strategy = await tenv.GOVERNANCE.getStrategy("stg_replay");
    if (!limits.ok || !strategy.ok) throw new Error("doubles");
    const first = engineStart({
      strategy: { ...strategy.value, params: strategy.value.params as never },
      pairs: [],
      limits: limits.value,
      latencyMs: 250,
      window: WINDOW,
      codeVersion: "dev",
    });
    const objects = new Map<string, Uint8Array>();
    const fetches = await worker().listFetches({ ...WINDOW });
    if (!fetches.ok) throw new Error(fetches.error.message);
    for (const h of fetches.value.hashes) {
      const o = await tenv.R2_EVIDENCE.get(h);
      objects.set(h, new Uint8Array(await o!.arrayBuffer()));
    }
    const whole = await runReplay({ objects, sightings: fetches.value.fetches }, first.config, 1_000);
    expect(whole.ok && (await reportHash(whole.report))).toBe(done.reportHash);
  });

  it("refuses evidence whose bytes changed, naming the object, and ends failed (audited)", async () => {
    const [, b] = await recordBooks();
    // One byte of B changed in storage after it was recorded.
    const original = new Uint8Array(await (await tenv.R2_EVIDENCE.get(b!))!.arrayBuffer());
    const tampered = original.slice();
    tampered[20] = (tampered[20] as number) ^ 1;
    await tenv.R2_EVIDENCE.put(b!, tampered);
    const record = await start();
    const { record: done } = await runToEnd(record.id);
    expect(done.status).toBe("failed");
    expect(done.failure?.code).toBe("evidence_hash_mismatch");
    expect(done.failure?.message).toContain(b);
    expect(await tenv.R2_REPLAYS.get(`reports/${record.id}.json`)).toBeNull();
    const failed = (await auditEvents()).find((e) => e.type === "ingestion.replay_failed");
    expect(failed?.payload).toMatchObject({ replayId: record.id, code: "evidence_hash_mismatch" });
  });

  it("does not start when the chain refuses the request (fail closed), nor for what cannot be replayed", async () => {
    await tenv.AUDIT._set({ failing: true });
    const refused = await worker().startReplay({ strategyId: "stg_replay", ...WINDOW }, ACTOR);
    expect(!refused.ok && refused.error.code).toBe("audit_unavailable");
    expect(await count("replays")).toBe(0);
    await tenv.AUDIT._set({ failing: false });

    const future = new Date(Date.now() + 3_600_000).toISOString();
    const ahead = await worker().startReplay(
      { strategyId: "stg_replay", from: WINDOW.from, to: future },
      ACTOR,
    );
    expect(!ahead.ok && ahead.error.code).toBe("validation_failed");
    const backwards = await worker().startReplay(
      { strategyId: "s", from: WINDOW.to, to: WINDOW.from },
      ACTOR,
    );
    expect(!backwards.ok && backwards.error.code).toBe("validation_failed");
    await tenv.GOVERNANCE._set({ unknownStrategies: ["stg_nope"] });
    const unknown = await worker().startReplay({ strategyId: "stg_nope", ...WINDOW }, ACTOR);
    expect(!unknown.ok && unknown.error.code).toBe("unknown_reference");
    expect(await count("replays")).toBe(0);
    const missing = await worker().getReplay("rp_00000000000000000000000000");
    expect(!missing.ok && missing.error.code).toBe("not_found");
  });

  it("lists a strategy's replays, newest first", async () => {
    const one = await start("stg_list");
    const two = await start("stg_list");
    await start("stg_other");
    const list = await worker().listReplays("stg_list");
    expect(list.ok && list.value.replays.map((r) => r.id).sort()).toEqual([one.id, two.id].sort());
  });
});

describe("a run's stored progress", () => {
  it("holds an engine state larger than one stored value, and drops the chunks a smaller one no longer needs", async () => {
    const stub = tenv.REPLAY_RUN.getByName("progress-store-test");
    await runInDurableObject(stub, async (_instance, state) => {
      // About 3 MB of JSON with multi-byte characters: more than one stored value may hold.
      const big = { marks: Array.from({ length: 30_000 }, (_, i) => `marché-${i}-${"é".repeat(40)}`) };
      const head = {
        window: { fromMs: 1, toMs: 2 },
        cursor: "c",
        drained: false,
        sightings: 7,
        steps: 3,
        finished: null,
      };
      await saveProgress(state.storage, { ...head, state: big });
      expect(await loadProgress(state.storage)).toEqual({ ...head, state: big });
      const chunks = async () => [...(await state.storage.list({ prefix: "progress:state:" })).keys()].length;
      expect(await chunks()).toBeGreaterThan(1);
      await saveProgress(state.storage, { ...head, steps: 4, state: { small: true } });
      expect(await loadProgress(state.storage)).toEqual({ ...head, steps: 4, state: { small: true } });
      expect(await chunks()).toBe(1);
    });
  });
});
