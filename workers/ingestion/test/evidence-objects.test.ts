// The evidence export's read (#18, docs/replay.md): several objects' bytes at once, re-hashed, bounded by bytes.
import { MAX_EVIDENCE_BATCH } from "@paulp/contracts";
import { sha256Hex } from "@paulp/kit";
import { beforeEach, describe, expect, it } from "vitest";
import { readEvidenceObjects, storeEvidence } from "../src/evidence";
import { resetAll, tenv, worker } from "./helpers";

beforeEach(resetAll);

const store = () => ({ bucket: tenv.R2_EVIDENCE, db: tenv.D1_MARKETS });
const answer = (text: string) => ({
  url: "https://api.elections.kalshi.com/trade-api/v2/markets/KXA-1/orderbook",
  status: 200,
  contentType: "application/json",
  bytes: new TextEncoder().encode(text),
  retryAfter: null,
});
const stored = async (...texts: string[]) => {
  const hashes: string[] = [];
  for (const [i, text] of texts.entries())
    hashes.push(
      await storeEvidence(
        store(),
        "kalshi",
        answer(text),
        new Date(Date.UTC(2026, 10, 24, 10, 0, i)).toISOString(),
      ),
    );
  return hashes;
};
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("getEvidenceObjects", () => {
  it("answers the bytes in the order asked, each re-hashed", async () => {
    const [a, b, c] = await stored('{"a":1}', '{"b":2}', '{"c":3}');
    const r = await worker().getEvidenceObjects([c!, a!, b!]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.objects.map((o) => [o.hash, text(o.bytes)])).toEqual([
      [c, '{"c":3}'],
      [a, '{"a":1}'],
      [b, '{"b":2}'],
    ]);
    expect(r.value.remaining).toEqual([]);
  });

  it("stops at the byte budget (the first object always fits) and names the rest", async () => {
    const [a, b, c] = await stored("x".repeat(10), "y".repeat(10), "z".repeat(10));
    const r = await readEvidenceObjects(store(), [a!, b!, c!], 25);
    expect(r.ok && r.objects.map((o) => o.hash)).toEqual([a, b]);
    expect(r.ok && r.remaining).toEqual([c]);
    const one = await readEvidenceObjects(store(), [c!, a!], 5);
    expect(one.ok && one.objects.map((o) => o.hash)).toEqual([c]);
    expect(one.ok && one.remaining).toEqual([a]);
  });

  it("refuses bytes altered in the bucket, and bytes that are gone, naming the object", async () => {
    const [a, b] = await stored('{"a":1}', '{"b":2}');
    await tenv.R2_EVIDENCE.put(b!, '{"b":3}');
    const altered = await worker().getEvidenceObjects([a!, b!]);
    expect(altered.ok).toBe(false);
    if (altered.ok) return;
    expect(altered.error.code).toBe("integrity_broken");
    expect(altered.error.message).toContain(b);
    expect(altered.error.message).toContain(await sha256Hex('{"b":3}'));

    await tenv.R2_EVIDENCE.delete(a!);
    const gone = await worker().getEvidenceObjects([a!]);
    expect(!gone.ok && [gone.error.code, gone.error.message.includes(a!)]).toEqual(["not_found", true]);
  });

  it("refuses a malformed, repeated, empty or oversized request", async () => {
    const h = "a".repeat(64);
    for (const hashes of [
      [],
      ["nope"],
      [h, h],
      Array.from({ length: MAX_EVIDENCE_BATCH + 1 }, (_, i) => i.toString(16).padStart(64, "0")),
    ]) {
      const r = await worker().getEvidenceObjects(hashes);
      expect(!r.ok && r.error.code, JSON.stringify(hashes).slice(0, 80)).toBe("validation_failed");
    }
  });
});
