// Offline verifier: `pnpm audit:verify <export.ndjson> [--anchor <anchorHash>]`.
// It reads only the file and recomputes everything itself (no network, no service): an operator can trust
// its answer without trusting the Workers. Pass `--anchor` with an anchor hash obtained independently
// (e.g. read from D1 in the dashboard) to also prove the export contains that anchor.
// Exit codes: 0 verified, 1 broken (names the first broken entry), 2 usage or read error.
import { readFileSync } from "node:fs";
import { verifyExport } from "./export";

function main(argv: string[]): number {
  const args = [...argv];
  let expectAnchor: string | undefined;
  const anchorAt = args.indexOf("--anchor");
  if (anchorAt >= 0) {
    expectAnchor = args[anchorAt + 1];
    args.splice(anchorAt, 2);
  }
  const file = args[0];
  if (!file || args.length > 1 || (anchorAt >= 0 && !expectAnchor)) {
    console.error("usage: pnpm audit:verify <export.ndjson> [--anchor <anchorHash>]");
    return 2;
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    console.error(`cannot read ${file}: ${(error as Error).message}`);
    return 2;
  }
  const report = verifyExport(bytes);
  if (!report.ok) {
    const b = report.broken!;
    const where = b.line === undefined ? "" : ` (line ${b.line})`;
    const anchor = b.anchorNo === undefined ? "" : ` [anchor ${b.anchorNo}]`;
    console.error(`BROKEN at seq ${b.seq}${where}${anchor}: ${b.reason}`);
    console.error(`verified before the break: ${report.entries} entries, head seq ${report.head.seq}`);
    return 1;
  }
  if (expectAnchor) {
    if (!report.anchorHashes.includes(expectAnchor)) {
      console.error(`BROKEN: anchor ${expectAnchor} is not in the export`);
      return 1;
    }
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
  return 0;
}

process.exitCode = main(process.argv.slice(2));
