// Offline verifier: `pnpm audit:verify <export.ndjson> [--key <verifier key>]… [--anchor <anchorHash>]`.
// It reads only the file and recomputes everything itself (no network, no service): an operator can trust
// its answer without trusting the Workers. The anchors' signatures are checked with the audit verifier key
// pinned by `--key` or the PAULP_AUDIT_KEY environment variable (see docs/audit.md); without one they are not.
// `--anchor` with an anchor hash obtained independently (e.g. read from D1 in the dashboard) also proves the
// export contains that anchor.
// Exit codes: 0 verified, 1 broken (names the line and the first broken seq), 2 usage, key or read error.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { NoteKeyError, type NoteVerifier, parseVerifierKey } from "./checkpoint";
import { verifyExport } from "./export";

const USAGE = "usage: pnpm audit:verify <export.ndjson> [--key <verifier key>]... [--anchor <anchorHash>]";

function main(argv: string[]): number {
  const args = parse(argv);
  if ("error" in args) {
    console.error(args.error);
    return 2;
  }
  const file = args.positionals[0];
  if (!file || args.positionals.length > 1) {
    console.error(USAGE);
    return 2;
  }
  const keys = args.values.key ?? (process.env.PAULP_AUDIT_KEY ?? "").split(/[\s,]+/).filter(Boolean);
  let verifiers: NoteVerifier[];
  try {
    verifiers = keys.map(parseVerifierKey);
  } catch (error) {
    if (!(error instanceof NoteKeyError)) throw error;
    console.error(`bad verifier key: ${error.message}`);
    return 2;
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    console.error(`cannot read ${file}: ${(error as Error).message}`);
    return 2;
  }
  const report = verifyExport(bytes, verifiers.length > 0 ? { verifiers } : {});
  if (!report.ok) {
    const b = report.broken!;
    const where = b.line === undefined ? "" : ` (line ${b.line})`;
    const anchor = b.anchorNo === undefined ? "" : ` [anchor ${b.anchorNo}]`;
    console.error(`BROKEN at seq ${b.seq}${where}${anchor}: ${b.reason}`);
    console.error(`verified before the break: ${report.entries} entries, head seq ${report.head.seq}`);
    return 1;
  }
  const expectAnchor = args.values.anchor;
  if (expectAnchor && !report.anchorHashes.includes(expectAnchor)) {
    console.error(`BROKEN: anchor ${expectAnchor} is not in the export`);
    return 1;
  }
  const last = report.lastAnchor;
  console.log(`OK: ${report.entries} entries, head seq ${report.head.seq} hash ${report.head.hash}`);
  console.log(`    ${report.batches} R2 batches, ${report.anchors} anchors`);
  if (last) {
    console.log(
      `    last anchor ${last.anchorNo}: toSeq ${last.toSeq} headHash ${last.headHash} anchorHash ${last.anchorHash} at ${last.anchoredAt}`,
    );
    console.log(
      `    compare that anchorHash with the D1_ANCHOR row to tie this export to the anchored chain`,
    );
  }
  if (report.signaturesChecked)
    console.log(
      `    every anchor's signed checkpoint verified with ${verifiers.map((v) => v.verifierKey).join(", ")}`,
    );
  else
    console.log(
      "    WARNING: anchor signatures NOT checked: pin the audit verifier key with --key or PAULP_AUDIT_KEY (docs/audit.md)",
    );
  return 0;
}

/** The command line, or what is wrong with it followed by the usage line. */
function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: { key: { type: "string", multiple: true }, anchor: { type: "string" } },
    });
  } catch (error) {
    return { error: `${(error as Error).message}\n${USAGE}` };
  }
}

process.exitCode = main(process.argv.slice(2));
