import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { audit, event, sequencer } from "./helpers";

const actor = { method: "system" as const, subject: "test" };
type Row = Record<string, string | number>;
type Snapshot = Record<"entries" | "mirror_batches" | "meta", Row[]>;
const TABLES = ["entries", "mirror_batches", "meta"] as const;

/** The sequencer's whole storage, as a point-in-time backup would hold it. */
function snapshot(): Promise<Snapshot> {
  return runInDurableObject(sequencer(), (_o, state) => {
    const out = {} as Snapshot;
    for (const t of TABLES) out[t] = state.storage.sql.exec<Row>(`SELECT * FROM ${t}`).toArray();
    return out;
  });
}

/** Put the sequencer's storage back to `snap` (a restore from an older backup) and restart it. */
async function restore(snap: Snapshot): Promise<void> {
  await runInDurableObject(sequencer(), (_o, state) => {
    for (const t of TABLES) {
      state.storage.sql.exec(`DELETE FROM ${t}`);
      for (const row of snap[t]) {
        const cols = Object.keys(row);
        state.storage.sql.exec(
          `INSERT INTO ${t} (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`,
          ...cols.map((c) => row[c]!),
        );
      }
    }
  });
  await abortAllDurableObjects();
}

const anchorCount = async () =>
  (await env.D1_ANCHOR.prepare("SELECT COUNT(*) AS n FROM anchors").first<{ n: number }>())!.n;
const r2Keys = async () => (await env.R2_AUDIT.list()).objects.map((o) => o.key).sort();

describe("a sequencer restored to an older state than D1 anchored", () => {
  let older: Snapshot;

  beforeAll(async () => {
    await audit().appendMany(Array.from({ length: 10 }, (_, i) => event(i)));
    expect(await audit().anchorNow(actor)).toMatchObject({ ok: true, value: { anchorNo: 1, toSeq: 10 } });
    // A verification on record: the restored state will claim integrity ok.
    expect(await audit().verify({ mode: "full", actor })).toMatchObject({ ok: true, value: { ok: true } });
    older = await snapshot();
    await audit().appendMany(Array.from({ length: 10 }, (_, i) => event(10 + i)));
    expect(await audit().anchorNow(actor)).toMatchObject({ ok: true, value: { anchorNo: 2, toSeq: 20 } });
  });

  it("refuses appends on start, reports integrity broken, never anchors onto the old chain, writes nothing to R2", async () => {
    const keysBefore = await r2Keys();
    await restore(older);
    const appended = await audit().append(event(99));
    expect(appended).toMatchObject({
      ok: false,
      error: {
        code: "integrity_broken",
        message: expect.stringMatching(/does not contain the latest anchor/),
      },
    });
    expect(await audit().appendMany([event(100)])).toMatchObject({
      ok: false,
      error: { code: "integrity_broken" },
    });
    const status = await audit().status();
    if (!status.ok) throw new Error(status.error.message);
    expect(status.value).toMatchObject({ headSeq: 10, integrity: "broken" });
    expect(status.value.alerts.map((a) => a.code)).toContain("integrity_broken");
    expect(await audit().anchorNow(actor)).toMatchObject({ ok: false, error: { code: "integrity_broken" } });
    expect(await anchorCount()).toBe(2);
    // Risk's watch verifies incrementally: it must answer broken, so the breaker halts.
    expect(await audit().verify({ mode: "incremental", actor })).toMatchObject({
      ok: true,
      value: { ok: false, brokenAnchor: 2 },
    });
    expect(await r2Keys()).toEqual(keysBefore);
    // Still refused after another restart: the proof is made again, and fails again.
    await abortAllDurableObjects();
    expect(await audit().append(event(101))).toMatchObject({
      ok: false,
      error: { code: "integrity_broken" },
    });
  });
});
