import { runInDurableObject } from "cloudflare:test";
import { verifyExport } from "@paulp/audit-chain";
import { describe, expect, it } from "vitest";
import { MIRROR_BATCH_MAX_BYTES } from "../src/sequencer";
import { audit, event, sequencer } from "./helpers";

// Entries near the payload limit (64 KiB): a mirror batch of 1,000 of them would be ~66 MB. Batches close at a
// byte budget too, so mirroring, verification and export stay far inside an isolate's memory.
describe("large entries", () => {
  it("mirror batches close at the byte budget; the chain verifies, and so does its export", async () => {
    const big = "x".repeat(60_000);
    for (let i = 0; i < 4; i++)
      expect(
        await audit().appendMany(Array.from({ length: 50 }, (_, k) => event(i * 50 + k, { big, k }))),
      ).toMatchObject({ ok: true });
    const flushed = await sequencer().flushMirror();
    expect(flushed).toMatchObject({ mirroredTo: 200, error: null });
    const batches = await runInDurableObject(sequencer(), async (_o, state) =>
      state.storage.sql
        .exec<{ from_seq: number; to_seq: number }>(
          "SELECT from_seq, to_seq FROM mirror_batches ORDER BY from_seq",
        )
        .toArray(),
    );
    // 200 entries of ~60 KB: more than one batch, none above the budget.
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.at(-1)!.to_seq).toBe(200);
    for (const b of batches)
      expect((b.to_seq - b.from_seq + 1) * 60_000).toBeLessThanOrEqual(MIRROR_BATCH_MAX_BYTES);
    const v = await audit().verify({ mode: "full", actor: { method: "system", subject: "test" } });
    expect(v).toMatchObject({ ok: true, value: { ok: true, checkedEntries: 200 } });
    const report = verifyExport(await new Response(await audit().exportNdjson()).text());
    expect(report).toMatchObject({ ok: true, entries: 200, batches: batches.length });
  });
});
