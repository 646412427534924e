import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import type { Command } from "commander";
import { CliError } from "../client";
import { type Cli, command, id, int, jsonArg } from "./context";

/** Market data: ingestion status and a run now, the compliance rule set, raw evidence by hash. */
export function registerIngestion({ program, io, api, call }: Cli): void {
  const ingestion = command(program, "ingestion", "market data ingestion: status, run");
  command(ingestion, "status", "last run per venue, counts, errors by kind").action(() =>
    call("GET", "/admin/ingestion/status"),
  );
  command(ingestion, "run", "pull the venues now")
    .option("--venues <venues...>", "kalshi and/or polymarket (default both)")
    .option("--max-pages <n>", "pages per venue (1–20)", int("--max-pages"))
    .action((o: { venues?: string[]; maxPages?: number }) =>
      call("POST", "/admin/ingestion/run", {
        ...(o.venues ? { venues: o.venues } : {}),
        ...(o.maxPages ? { maxPages: o.maxPages } : {}),
      }),
    );
  const compliance = command(program, "compliance", "the compliance rule set");
  command(compliance, "show", "the rules and their version").action(() =>
    call("GET", "/admin/compliance/rules"),
  );
  command(compliance, "set", "replace the rule set (versioned, audited)")
    .argument("<json>", "the ComplianceRuleSet (inline, @file or -)", jsonArg)
    .action((rules: unknown) => call("PUT", "/admin/compliance/rules", rules));
  // `evidence <sha256> -o file` (one object) and `evidence export` (a window) share `-o`: commander reads options of a
  // command before its subcommand's, so the export takes it from there (optsWithGlobals).
  const evidence = command(
    program,
    "evidence",
    "raw evidence bytes by hash (re-hashed by the gateway); export a window",
  )
    .argument("<sha256>")
    .option("-o, --out <file>", "where to write the bytes")
    .action(async (hash: string, o: { out?: string }) => {
      if (!o.out) throw new CliError("required option '-o, --out <file>' not specified", 2);
      const c = await api();
      const url = new URL(`/admin/evidence/${id(hash)}`, c.base);
      // The bytes as stored (a text decode would change any byte that is not UTF-8, and the hash with it).
      const res = await c.download(url.pathname);
      const bytes = new Uint8Array(await res.arrayBuffer());
      writeFileSync(o.out, bytes);
      io.err(`wrote ${bytes.byteLength} bytes to ${o.out}`);
    });
  command(evidence, "export", "the evidence of [from, to) as NDJSON, for pnpm replay (at most 31 days)")
    .requiredOption("--from <iso>", "fetched at or after (ISO 8601)")
    .requiredOption("--to <iso>", "fetched before (ISO 8601, not in the future)")
    .option("-o, --out <file>", "where to write the export")
    .action(async (o: { from: string; to: string }, cmd: Command) => {
      const out = cmd.optsWithGlobals<{ out?: string }>().out;
      if (!out) throw new CliError("required option '-o, --out <file>' not specified", 2);
      const c = await api();
      const query = new URLSearchParams({ from: o.from, to: o.to });
      const res = await c.download(`/admin/evidence/export?${query}`);
      const written = await writeStream(res, out);
      // A complete export ends with its trailer; a stream cut off (a bad object, a lost connection) does not.
      const trailer = lastLine(written.tail);
      if (written.error !== null || trailer?.kind !== "end") {
        throw new CliError(
          `the export was cut off after ${written.bytes} bytes${written.error ? ` (${written.error})` : ""}: ${out} is incomplete and pnpm replay refuses it`,
        );
      }
      io.err(
        `wrote ${written.bytes} bytes to ${out}: ${trailer.objects} objects, ${trailer.sightings} sightings (check and replay it: pnpm replay ${out} --report <report.json>)`,
      );
    });
}

/** Write a response body to `file` as it arrives; its last bytes are kept to read the trailer. */
async function writeStream(
  res: Response,
  file: string,
): Promise<{ bytes: number; tail: string; error: string | null }> {
  const fd = openSync(file, "w");
  let bytes = 0;
  let tail = new Uint8Array(0);
  try {
    // A reader, not `for await` over the body: the DOM typings give ReadableStream no async iterator.
    const reader = res.body?.getReader();
    while (reader) {
      const { done, value: chunk } = await reader.read();
      if (done) break;
      writeSync(fd, chunk);
      bytes += chunk.byteLength;
      const joined = new Uint8Array(tail.byteLength + chunk.byteLength);
      joined.set(tail);
      joined.set(chunk, tail.byteLength);
      tail = joined.slice(-4096);
    }
    return { bytes, tail: new TextDecoder().decode(tail), error: null };
  } catch (error) {
    return { bytes, tail: "", error: (error as Error).message };
  } finally {
    closeSync(fd);
  }
}

/** The last non-empty line as JSON, or null. */
function lastLine(text: string): { kind?: string; objects?: number; sightings?: number } | null {
  const line = text.trimEnd().split("\n").at(-1);
  try {
    return line ? (JSON.parse(line) as { kind?: string }) : null;
  } catch {
    return null;
  }
}
