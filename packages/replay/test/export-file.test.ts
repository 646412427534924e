import { sha256Hex } from "@paulp/kit";
import { describe, expect, it } from "vitest";
import { verifiedTimeline } from "../src/evidence";
import { endLine, headerLine, objectLine, readExport, sightingLine } from "../src/export-file";

const enc = new TextEncoder();
const window = { from: "2026-12-01T00:00:00.000Z", to: "2026-12-01T01:00:00.000Z" };

async function sampleFile() {
  const a = enc.encode('{"orderbook_fp":{"yes_dollars":[["0.4200","10.00"]],"no_dollars":[]}}');
  // Every byte value, so the base64 round trip is shown for binary data too.
  const b = Uint8Array.from({ length: 256 }, (_, i) => i);
  const ha = await sha256Hex(a);
  const hb = await sha256Hex(b);
  const at = (m: number) => `2026-12-01T00:${String(m).padStart(2, "0")}:00.000Z`;
  const url = "https://api.elections.kalshi.com/trade-api/v2/markets/K1/orderbook";
  const text =
    headerLine(window, "2026-12-02T00:00:00.000Z") +
    objectLine(ha, a) +
    sightingLine({ hash: ha, venue: "kalshi", url, fetchedAt: at(1), status: 200 }) +
    objectLine(hb, b) +
    sightingLine({ hash: hb, venue: "kalshi", url, fetchedAt: at(2), status: 200 }) +
    sightingLine({ hash: ha, venue: "kalshi", url, fetchedAt: at(3), status: 200 }) +
    endLine(2, 3);
  return { text, a, b, ha, hb };
}

describe("the evidence export file", () => {
  it("round-trips objects byte for byte and keeps every sighting in order", async () => {
    const { text, a, b, ha, hb } = await sampleFile();
    const read = readExport(text);
    if (!read.ok) throw new Error(read.refusal.message);
    expect(read.window).toEqual(window);
    expect(read.set.objects.get(ha)).toEqual(a);
    expect(read.set.objects.get(hb)).toEqual(b);
    expect(read.set.sightings.map((s) => s.hash)).toEqual([ha, hb, ha]);
    const timeline = await verifiedTimeline(read.set, {
      fromMs: Date.parse(window.from),
      toMs: Date.parse(window.to),
    });
    expect(timeline.ok && timeline.sightings.length).toBe(3);
  });

  it("refuses a file cut off anywhere, or with lines after its trailer", async () => {
    const { text } = await sampleFile();
    const lines = text.trimEnd().split("\n");
    for (let keep = 1; keep < lines.length; keep++) {
      const read = readExport(`${lines.slice(0, keep).join("\n")}\n`);
      expect(read.ok ? "accepted" : read.refusal.code).toBe("export_truncated");
    }
    const after = readExport(`${text}${lines[2]}\n`);
    expect(after.ok ? "accepted" : after.refusal).toMatchObject({ code: "export_malformed", line: 7 });
  });

  it("refuses a malformed line by its number", async () => {
    const { text } = await sampleFile();
    const lines = text.trimEnd().split("\n");
    const cases: [number, string][] = [
      [2, "{not json"],
      [2, JSON.stringify({ kind: "object", hash: "x", base64: "" })],
      [2, JSON.stringify({ kind: "object", hash: "a".repeat(64), base64: "!!!!" })],
      [
        3,
        JSON.stringify({
          kind: "sighting",
          hash: "a".repeat(64),
          venue: "kalshi",
          url: "u",
          fetchedAt: "yesterday",
        }),
      ],
      [3, lines[0] as string],
      [1, lines[1] as string],
    ];
    for (const [n, replacement] of cases) {
      const copy = [...lines];
      copy[n - 1] = replacement;
      const read = readExport(`${copy.join("\n")}\n`);
      expect(read.ok ? "accepted" : read.refusal).toMatchObject({ code: "export_malformed", line: n });
    }
  });

  it("leaves a changed byte to the timeline, which refuses it by name", async () => {
    const { text, ha } = await sampleFile();
    const read = readExport(text);
    if (!read.ok) throw new Error(read.refusal.message);
    const bytes = read.set.objects.get(ha) as Uint8Array;
    bytes[5] = (bytes[5] as number) ^ 1;
    const timeline = await verifiedTimeline(read.set, {
      fromMs: Date.parse(window.from),
      toMs: Date.parse(window.to),
    });
    expect(timeline.ok ? null : timeline.refusal).toMatchObject({ code: "evidence_hash_mismatch", hash: ha });
  });
});
