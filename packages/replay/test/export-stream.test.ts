// The evidence export written a piece at a time (what `GET /admin/evidence/export` streams): readable by readExport,
// each object once before its first sighting, the same report as the set it came from; a bad object cuts it off.
import { type EvidenceSighting, MAX_EVIDENCE_BATCH } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { runReplay } from "../src/engine";
import type { EvidenceSet } from "../src/evidence";
import { readExport } from "../src/export-file";
import {
  ExportBroken,
  type ExportCounts,
  type ExportPorts,
  exportChunks,
  exportFileName,
} from "../src/export-stream";
import { reportHash } from "../src/report";
import { config, evidence } from "./engine-fixture";

const WINDOW = config().window;

/** Ports over a set: the log in pages of `pageSize`, objects at most `perCall` an answer. */
function portsOver(set: EvidenceSet, pageSize: number, perCall: number, calls: string[][] = []): ExportPorts {
  return {
    async page(cursor) {
      const start = cursor === null ? 0 : Number(cursor);
      const fetches = set.sightings.slice(start, start + pageSize) as EvidenceSighting[];
      const next = start + pageSize;
      return {
        fetches,
        hashes: [...new Set(fetches.map((f) => f.hash))],
        cursor: next < set.sightings.length ? String(next) : null,
      };
    },
    async objects(hashes) {
      calls.push(hashes);
      const taken = hashes.slice(0, perCall);
      return {
        objects: taken.map((hash) => ({ hash, bytes: set.objects.get(hash)! })),
        remaining: hashes.slice(perCall),
      };
    },
  };
}

/** Every chunk the export yields, and the error that stopped it (if any). */
async function collect(ports: ExportPorts, counts?: ExportCounts) {
  let text = "";
  try {
    for await (const chunk of exportChunks(ports, WINDOW, "2026-12-02T00:00:00.000Z", counts)) text += chunk;
    return { text, error: null };
  } catch (error) {
    return { text, error: error as Error };
  }
}

describe("the evidence export, written in pieces", () => {
  it("is read back whole: each object once before its first sighting, the sightings in order, the same report", async () => {
    const set = await evidence();
    // The fixture's book repeats no bytes: add two sightings of bytes already sent (A, B, A) across pages.
    const repeat = set.sightings
      .slice(-2)
      .map((s, i) => ({ ...s, fetchedAt: new Date(Date.parse(s.fetchedAt) + 1_000 + i).toISOString() }));
    const twice: EvidenceSet = { objects: set.objects, sightings: [...set.sightings, ...repeat] };
    const calls: string[][] = [];
    const counts = { objects: 0, sightings: 0 };
    const { text, error } = await collect(portsOver(twice, 3, 2, calls), counts);
    expect(error).toBeNull();
    const read = readExport(text);
    if (!read.ok) throw new Error(read.refusal.message);
    expect(read.window).toEqual(WINDOW);
    expect(read.set.sightings).toEqual(twice.sightings);
    expect([...read.set.objects.keys()].sort()).toEqual([...set.objects.keys()].sort());
    expect(counts).toEqual({ objects: set.objects.size, sightings: twice.sightings.length });
    // Answered a prefix at a time (2 of each call), the rest asked for again; never more than a batch at once.
    expect(calls.length).toBeGreaterThan(set.objects.size / 2);
    expect(calls.every((c) => c.length >= 1 && c.length <= MAX_EVIDENCE_BATCH)).toBe(true);
    // Each object's line comes before its first sighting's.
    const lines = text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { kind: string; hash?: string });
    for (const [i, l] of lines.entries()) {
      if (l.kind === "sighting")
        expect(lines.slice(0, i).some((o) => o.kind === "object" && o.hash === l.hash)).toBe(true);
    }
    // The exported set replays to the same report as the set it came from.
    const fromFile = await runReplay(read.set, config());
    const original = await runReplay(twice, config());
    if (!fromFile.ok || !original.ok) throw new Error("refused");
    expect(await reportHash(fromFile.report)).toBe(await reportHash(original.report));
    // And without repeats: the fixture's own report (engine.test.ts pins its hash).
    const plain = await collect(portsOver(set, 4, 32));
    const plainRead = readExport(plain.text);
    const plainReport = plainRead.ok ? await runReplay(plainRead.set, config()) : null;
    const fixtureReport = await runReplay(set, config());
    expect(plainReport?.ok && (await reportHash(plainReport.report))).toBe(
      fixtureReport.ok && (await reportHash(fixtureReport.report)),
    );
  });

  it("an empty window is a header and a trailer", async () => {
    const { text } = await collect(portsOver({ objects: new Map(), sightings: [] }, 5, 5));
    const read = readExport(text);
    expect(read.ok && [read.set.objects.size, read.set.sightings.length]).toEqual([0, 0]);
  });

  it("stops before its trailer when a stored object no longer hashes to its name, so the file is refused", async () => {
    const set = await evidence();
    const objects = new Map(set.objects);
    const victim = set.sightings[4]!.hash;
    const bytes = Uint8Array.from(objects.get(victim)!);
    bytes[0] = bytes[0]! ^ 1;
    objects.set(victim, bytes);
    const { text, error } = await collect(portsOver({ objects, sightings: set.sightings }, 3, 2));
    expect(error).toBeInstanceOf(ExportBroken);
    expect(error?.message).toContain(victim);
    // What was sent before the bad object is whole lines, and no trailer.
    expect(text.endsWith("\n")).toBe(true);
    const read = readExport(text);
    expect(read.ok ? "accepted" : read.refusal.code).toBe("export_truncated");
  });

  it("stops when the store answers other objects than those asked for", async () => {
    const set = await evidence();
    const honest = portsOver(set, 3, 2);
    const swapped: ExportPorts = {
      page: honest.page,
      objects: async (hashes) => {
        const a = await honest.objects(hashes);
        return { objects: a.objects.reverse(), remaining: a.remaining };
      },
    };
    expect((await collect(swapped)).error).toBeInstanceOf(ExportBroken);
    const none: ExportPorts = {
      page: honest.page,
      objects: async (hashes) => ({ objects: [], remaining: hashes }),
    };
    expect((await collect(none)).error).toBeInstanceOf(ExportBroken);
  });

  it("names its file by its window", () => {
    expect(exportFileName({ from: "2026-12-01T00:00:00.000Z", to: "2026-12-01T01:30:00Z" })).toBe(
      "paulp-evidence-20261201T000000Z-20261201T013000Z.ndjson",
    );
  });
});
