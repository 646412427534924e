// Offline replay: `pnpm replay <export.ndjson> --report <report.json> [--config <manifest.json>] [--out <file>]`.
// It reads only the files given (no network, no service): the evidence export from `GET /admin/evidence/export`,
// every object re-hashed, and the engine's config from the report's manifest (or `--config`, a manifest of its own).
// It prints the recomputed report's hash and whether it is the report file's.
// Exit codes: 0 the same hash (or, with --config alone, computed), 1 a different hash or a refused file, 2 usage or
// a file that cannot be read.
import { parseArgs } from "node:util";
import { canonicalReport, type ReportFile, replayExport, reportFile } from "../src/index";

const USAGE =
  "usage: pnpm replay <export.ndjson> --report <report.json> [--config <manifest.json>] [--out <report.json>]";

/** The command line, or what is wrong with it followed by the usage line. */
function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        report: { type: "string" },
        config: { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    return { error: `${(error as Error).message}\n${USAGE}` };
  }
}

export interface Io {
  out(line: string): void;
  err(line: string): void;
  read(file: string): string;
  write(file: string, text: string): void;
}

function readJson(io: Io, file: string, what: string): unknown {
  const text = io.read(file);
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${what} ${file} is not JSON`);
  }
}

class UsageError extends Error {}

/** The CLI over injected files and output, so a test runs it in-process. Answers the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  const args = parse(argv);
  if ("error" in args) {
    io.err(args.error);
    return 2;
  }
  if (args.values.help) {
    io.out(USAGE);
    return 0;
  }
  const file = args.positionals[0];
  const { report: reportPath, config: configPath, out } = args.values;
  if (!file || args.positionals.length > 1 || (!reportPath && !configPath)) {
    io.err(USAGE);
    return 2;
  }
  let exportText: string;
  let expected: ReportFile | null = null;
  let manifest: unknown;
  try {
    exportText = io.read(file);
    if (reportPath) {
      const read = reportFile(readJson(io, reportPath, "report"));
      if ("error" in read) throw new UsageError(`report ${reportPath}: ${read.error}`);
      expected = read;
    }
    manifest = configPath ? readJson(io, configPath, "config") : expected?.report.manifest;
  } catch (error) {
    io.err(error instanceof UsageError ? error.message : `cannot read: ${(error as Error).message}`);
    return 2;
  }

  const result = await replayExport(exportText, manifest, expected);
  if (!result.ok) {
    io.err(`REFUSED ${file}: ${result.message} (${result.code})`);
    return 1;
  }
  const c = result.config;
  io.out(
    `export:   ${file}: ${result.objects} objects (every one re-hashed), ${result.sightings} sightings, ${result.exportWindow.from} to ${result.exportWindow.to}`,
  );
  io.out(
    `replayed: ${result.replayed} sightings of ${c.window.from} to ${c.window.to}, strategy ${c.strategy.id} (${c.strategy.kind}), latency ${c.latencyMs} ms, config from ${configPath ? configPath : "the report's manifest"}`,
  );
  for (const note of result.notes) io.err(`note: ${note}`);
  io.out(`report hash (recomputed): ${result.reportHash}`);
  if (out) {
    io.write(out, canonicalReport(result.report));
    io.out(`wrote the recomputed report to ${out}`);
  }
  if (!expected) return 0;
  io.out(`report hash (${reportPath}): ${result.expectedHash}`);
  if (expected.recordedHash !== null && expected.recordedHash !== result.expectedHash) {
    io.err(
      `MISMATCH: ${reportPath}'s report hashes to ${result.expectedHash}, but its record names ${expected.recordedHash} (the file was changed)`,
    );
    return 1;
  }
  if (result.reportHash !== result.expectedHash) {
    io.err(`MISMATCH: the export replays to a different report than ${reportPath}`);
    return 1;
  }
  io.out("MATCH: the export replays to the same report");
  return 0;
}
