// `pnpm replay` without the file system: an export's text and a report (or a manifest) in, the recomputed report and
// its hash out. It trusts nothing but the export: `readExport` checks every line and the trailer, `runReplay` re-hashes
// every object before the engine reads a byte, and the engine's config comes from the manifest given, checked here.
import { ReplayManifest, type ReplayReport, RiskLimits } from "@paulp/contracts";
import * as v from "valibot";
import { ENGINE_VERSION, type ReplayConfig, runReplay } from "./engine";
import { readExport } from "./export-file";
import { reportHash } from "./report";

/**
 * What a rerun needs of a report's manifest (the rest of it, the consumed hashes, is an outcome, not an input), its
 * risk limits checked against risk's schema and passed on exactly as written: the report prints them back as they came.
 */
const ManifestInput = v.object({
  ...v.omit(ReplayManifest, ["evidence", "sightings"]).entries,
  risk: v.object({
    ...ReplayManifest.entries.risk.entries,
    limits: v.custom<RiskLimits>((x) => v.is(RiskLimits, x), "risk limits as risk's schema has them"),
  }),
});
type ManifestInput = v.InferOutput<typeof ManifestInput>;

/** A report file: the report itself, or `GET /admin/replays/:id`'s answer (`{ replay, report }`). */
export interface ReportFile {
  report: ReplayReport;
  /** The hash the replay's record names, when the file is the admin API's answer. */
  recordedHash: string | null;
}

export type Offline =
  | {
      ok: true;
      /** The export's window and size, and the window replayed (the manifest's, inside the export's). */
      exportWindow: { from: string; to: string };
      objects: number;
      sightings: number;
      replayed: number;
      config: ReplayConfig;
      report: ReplayReport;
      reportHash: string;
      /** The report file's own hash (its report's canonical JSON), when one was given. */
      expectedHash: string | null;
      /** Warnings that explain a mismatch (another engine version). */
      notes: string[];
    }
  | { ok: false; code: string; message: string };

/** Read a report file's JSON: a report, or the admin API's `{ replay, report }`. */
export function reportFile(json: unknown): ReportFile | { error: string } {
  const answer = json as { replay?: { reportHash?: unknown }; report?: unknown; manifest?: unknown } | null;
  if (answer && typeof answer === "object" && "report" in answer && answer.report) {
    const recorded = answer.replay?.reportHash;
    return {
      report: answer.report as ReplayReport,
      recordedHash: typeof recorded === "string" ? recorded : null,
    };
  }
  if (answer && typeof answer === "object" && "manifest" in answer)
    return { report: answer as ReplayReport, recordedHash: null };
  return { error: "not a replay report (no manifest), nor GET /admin/replays/:id's answer with its report" };
}

/** The engine's config from a manifest (a report's, or one given with --config), checked field by field. */
export function configFromManifest(
  manifest: unknown,
): { ok: true; config: ReplayConfig; manifest: ManifestInput } | { ok: false; message: string } {
  const parsed = v.safeParse(ManifestInput, manifest);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const path = v.getDotPath(issue) ?? "manifest";
    return { ok: false, message: `manifest ${path}: ${issue.message}` };
  }
  const m = parsed.output;
  const config: ReplayConfig = {
    strategy: m.strategy,
    pairs: m.pairs,
    window: m.window,
    risk: m.risk,
    startingEquity: m.startingEquity,
    latencyMs: m.fill.latencyMs,
    codeVersion: m.codeVersion,
  };
  return { ok: true, config, manifest: m };
}

/**
 * Replay an export's text with the config of `manifest`. The export must cover the manifest's window; the sightings
 * in [from, to) are replayed (the mesh's window), every object of the file re-hashed. `expected`: the report file.
 */
export async function replayExport(
  exportText: string,
  manifest: unknown,
  expected: ReportFile | null,
): Promise<Offline> {
  const read = readExport(exportText);
  if (!read.ok) {
    return {
      ok: false,
      code: read.refusal.code,
      message: `line ${read.refusal.line}: ${read.refusal.message.replace(/^line \d+: /, "")}`,
    };
  }
  const cfg = configFromManifest(manifest);
  if (!cfg.ok) return { ok: false, code: "config_invalid", message: cfg.message };
  const { config } = cfg;
  const fromMs = Date.parse(config.window.from);
  const toMs = Date.parse(config.window.to);
  if (Date.parse(read.window.from) > fromMs || Date.parse(read.window.to) < toMs) {
    return {
      ok: false,
      code: "window_not_covered",
      message: `the export covers ${read.window.from} to ${read.window.to}; the replay's window is ${config.window.from} to ${config.window.to}`,
    };
  }
  // The mesh replays the fetch log of [from, to): a wider export is narrowed the same way.
  const sightings = read.set.sightings.filter((s) => {
    const at = Date.parse(s.fetchedAt);
    return at >= fromMs && at < toMs;
  });
  let result: Awaited<ReturnType<typeof runReplay>>;
  try {
    result = await runReplay({ objects: read.set.objects, sightings }, config);
  } catch (error) {
    return { ok: false, code: "replay_failed", message: (error as Error).message };
  }
  if (!result.ok) {
    const line = objectLineOf(exportText, result.refusal.hash);
    return {
      ok: false,
      code: result.refusal.code,
      message: `${line === null ? "" : `line ${line}: `}${result.refusal.message}`,
    };
  }
  const notes: string[] = [];
  if (cfg.manifest.engineVersion !== ENGINE_VERSION) {
    notes.push(
      `the manifest was computed by ${cfg.manifest.engineVersion}; this is ${ENGINE_VERSION} (a different engine may compute a different report)`,
    );
  }
  return {
    ok: true,
    exportWindow: read.window,
    objects: read.set.objects.size,
    sightings: read.set.sightings.length,
    replayed: sightings.length,
    config,
    report: result.report,
    reportHash: await reportHash(result.report),
    expectedHash: expected ? await reportHash(expected.report) : null,
    notes,
  };
}

/** The line of the file that carries object `hash` (1-based), to name it in a refusal. */
function objectLineOf(text: string, hash: string): number | null {
  const lines = text.split("\n");
  for (const [i, line] of lines.entries()) {
    if (!line.includes(hash) || !line.includes('"object"')) continue;
    try {
      const entry = JSON.parse(line) as { kind?: unknown; hash?: unknown };
      if (entry.kind === "object" && entry.hash === hash) return i + 1;
    } catch {
      // readExport already accepted every line
    }
  }
  return null;
}
