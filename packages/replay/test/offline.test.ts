// `pnpm replay`'s core (offline.ts): an export and a report's manifest give the report's hash again, trusting only
// the file; a cut-off file, a changed byte or a window the export does not cover is refused by name.
import { describe, expect, it } from "vitest";
import { runReplay } from "../src/engine";
import { configFromManifest, replayExport, reportFile } from "../src/offline";
import { reportHash } from "../src/report";
import { config, evidence } from "./engine-fixture";
import { alterObject, fixtureExport } from "./offline-fixture";

describe("the offline replay of an export", () => {
  it("recomputes the report from the export and the report's manifest: the same hash", async () => {
    const { text, report } = await fixtureExport();
    const r = await replayExport(text, report.manifest, { report, recordedHash: null });
    if (!r.ok) throw new Error(r.message);
    expect(r.reportHash).toBe(await reportHash(report));
    expect(r.expectedHash).toBe(r.reportHash);
    expect(r.notes).toEqual([]);
    const set = await evidence();
    expect([r.objects, r.sightings, r.replayed]).toEqual([
      set.objects.size,
      set.sightings.length,
      set.sightings.length,
    ]);
  });

  it("keeps a Kalshi leg's start category from the manifest (engine version 2): the same hash", async () => {
    const { text } = await fixtureExport();
    const base = config({ codeVersion: "dev" });
    const pair = base.pairs[0]!;
    const category = {
      name: "Economics",
      since: "2026-11-30T11:00:00.000Z",
      evidence: ["e".repeat(64), "f".repeat(64)],
    };
    const made = await runReplay(
      await evidence(),
      config({ codeVersion: "dev", pairs: [{ ...pair, kalshi: { ...pair.kalshi, category } }] }),
    );
    if (!made.ok) throw new Error(made.refusal.message);
    const report = made.report;
    const r = await replayExport(text, report.manifest, { report, recordedHash: null });
    if (!r.ok) throw new Error(r.message);
    expect(r.reportHash).toBe(await reportHash(report));
  });

  it("narrows a wider export to the manifest's window [from, to), as the mesh reads the fetch log", async () => {
    const set = await evidence();
    // The report of a window that ends exactly at the fifth fetch: the mesh would not have read it.
    const fifth = set.sightings[4]!.fetchedAt;
    const narrow = config({ codeVersion: "dev", window: { from: config().window.from, to: fifth } });
    const { text } = await fixtureExport();
    const { report } = await fixtureExport();
    const manifest = { ...report.manifest, window: narrow.window };
    const r = await replayExport(text, manifest, null);
    if (!r.ok) throw new Error(r.message);
    const before = set.sightings.filter((s) => Date.parse(s.fetchedAt) < Date.parse(fifth)).length;
    expect(before).toBeLessThan(set.sightings.length);
    expect(r.replayed).toBe(before);
    expect(r.report.manifest.window).toEqual(narrow.window);
    expect(r.report.manifest.sightings).toBe(before);
  });

  it("refuses an export that does not cover the window, a cut-off file and a changed byte, naming the line", async () => {
    const { text, report } = await fixtureExport();
    const wider = {
      ...report.manifest,
      window: { from: "2026-11-01T00:00:00.000Z", to: report.manifest.window.to },
    };
    expect(await replayExport(text, wider, null)).toMatchObject({ ok: false, code: "window_not_covered" });

    const lines = text.trimEnd().split("\n");
    const cut = `${lines.slice(0, -1).join("\n")}\n`;
    expect(await replayExport(cut, report.manifest, null)).toMatchObject({
      ok: false,
      code: "export_truncated",
    });

    const victim = report.manifest.evidence[2]!;
    const altered = await replayExport(alterObject(text, victim), report.manifest, null);
    expect(altered).toMatchObject({ ok: false, code: "evidence_hash_mismatch" });
    const line = lines.findIndex((l) => l.includes(`"kind":"object","hash":"${victim}"`)) + 1;
    expect(!altered.ok && altered.message).toMatch(new RegExp(`^line ${line}: evidence ${victim}`));
  });

  it("checks the manifest it runs with", async () => {
    const { report } = await fixtureExport();
    expect(configFromManifest(report.manifest).ok).toBe(true);
    const noLatency = { ...report.manifest, fill: {} };
    expect(configFromManifest(noLatency)).toMatchObject({
      ok: false,
      message: expect.stringContaining("fill.latencyMs"),
    });
    const badLimits = {
      ...report.manifest,
      risk: { limits: { maxOrderQuantity: "many" }, limitsVersion: 1 },
    };
    expect(configFromManifest(badLimits).ok).toBe(false);
  });

  it("reads a report file as the report or as GET /admin/replays/:id's answer", async () => {
    const { report } = await fixtureExport();
    expect(reportFile(report)).toEqual({ report, recordedHash: null });
    expect(reportFile({ replay: { reportHash: "ab" }, report })).toEqual({ report, recordedHash: "ab" });
    expect(reportFile({ replay: { status: "running" }, report: null })).toHaveProperty("error");
    expect(reportFile([1])).toHaveProperty("error");
  });
});
