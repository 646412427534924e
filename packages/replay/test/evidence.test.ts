import type { EvidenceSighting } from "@paulp/contracts";
import { sha256Hex } from "@paulp/kit";
import { describe, expect, it } from "vitest";
import { consumedHashes, verifiedTimeline } from "../src/evidence";

const enc = new TextEncoder();
const WINDOW = { fromMs: Date.parse("2026-11-01T00:00:00Z"), toMs: Date.parse("2026-11-02T00:00:00Z") };

async function set(bodies: string[]) {
  const objects = new Map<string, Uint8Array>();
  const hashes: string[] = [];
  for (const b of bodies) {
    const bytes = enc.encode(b);
    const h = await sha256Hex(bytes);
    objects.set(h, bytes);
    hashes.push(h);
  }
  return { objects, hashes };
}

const sighting = (hash: string, fetchedAt: string, url = "https://x/markets"): EvidenceSighting => ({
  hash,
  venue: "kalshi",
  url,
  fetchedAt,
});

describe("the evidence timeline", () => {
  it("orders sightings by fetch time, the export's order breaking ties, and names each object once", async () => {
    const { objects, hashes } = await set(['{"a":1}', '{"b":2}']);
    const [a, b] = hashes as [string, string];
    const t = await verifiedTimeline(
      {
        objects,
        sightings: [
          sighting(b, "2026-11-01T10:00:00.000Z", "u3"),
          sighting(a, "2026-11-01T09:00:00Z", "u1"),
          sighting(a, "2026-11-01T10:00:00Z", "u4"),
          sighting(b, "2026-11-01T09:30:00.5Z", "u2"),
        ],
      },
      WINDOW,
    );
    if (!t.ok) throw new Error(t.refusal.message);
    expect(t.sightings.map((s) => s.url)).toEqual(["u1", "u2", "u3", "u4"]);
    expect(new TextDecoder().decode(t.sightings[0]!.bytes)).toBe('{"a":1}');
    expect(consumedHashes(t.sightings)).toEqual([a, b].sort());
  });

  it("refuses a set in which one byte of one object changed, naming that object", async () => {
    const { objects, hashes } = await set(['{"a":1}', '{"b":2}']);
    const b = hashes[1]!;
    const tampered = new Uint8Array(objects.get(b)!);
    tampered[3] = tampered[3]! ^ 1;
    objects.set(b, tampered);
    const t = await verifiedTimeline(
      { objects, sightings: [sighting(hashes[0]!, "2026-11-01T09:00:00Z")] },
      WINDOW,
    );
    expect(t).toMatchObject({ ok: false, refusal: { code: "evidence_hash_mismatch", hash: b } });
  });

  it("refuses a sighting of bytes the set lacks, and one outside the window, by name", async () => {
    const { objects, hashes } = await set(['{"a":1}']);
    const absent = "f".repeat(64);
    expect(
      await verifiedTimeline({ objects, sightings: [sighting(absent, "2026-11-01T09:00:00Z")] }, WINDOW),
    ).toMatchObject({ ok: false, refusal: { code: "evidence_missing", hash: absent } });
    expect(
      await verifiedTimeline(
        { objects, sightings: [sighting(hashes[0]!, "2026-11-02T00:00:00.001Z")] },
        WINDOW,
      ),
    ).toMatchObject({ ok: false, refusal: { code: "evidence_outside_window", hash: hashes[0] } });
  });
});
