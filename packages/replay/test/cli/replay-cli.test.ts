// `pnpm replay` as an operator runs it (bin/cli.ts, in Node, over in-memory files): the same hash is a match and
// exit 0; a different report, a changed report file or a refused export is exit 1 with one clear line.
import { describe, expect, it } from "vitest";
import { main } from "../../bin/cli";
import { runReplay } from "../../src/engine";
import { canonicalReport, reportHash } from "../../src/report";
import { config, evidence } from "../engine-fixture";
import { alterObject, fixtureExport } from "../offline-fixture";

async function run(argv: string[], files: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const written: Record<string, string> = {};
  const code = await main(argv, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    read: (f) => {
      if (!(f in files)) throw new Error(`ENOENT: ${f}`);
      return files[f]!;
    },
    write: (f, t) => {
      written[f] = t;
    },
  });
  return { code, out: out.join("\n"), err: err.join("\n"), written };
}

describe("pnpm replay", () => {
  it("prints the recomputed hash and MATCH for the report the export came from (report file or the API's answer)", async () => {
    const { text, report } = await fixtureExport();
    const hash = await reportHash(report);
    const files = {
      "e.ndjson": text,
      "r.json": JSON.stringify(report),
      "answer.json": JSON.stringify({ replay: { reportHash: hash }, report }),
    };
    for (const reportPath of ["r.json", "answer.json"]) {
      const r = await run(["e.ndjson", "--report", reportPath, "--out", "again.json"], files);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(r.out).toContain(`report hash (recomputed): ${hash}`);
      expect(r.out).toContain(`report hash (${reportPath}): ${hash}`);
      expect(r.out).toContain("MATCH");
      expect(r.written["again.json"]).toBe(canonicalReport(report));
    }
  });

  it("reports a different report as a MISMATCH, exit 1 (another latency in --config)", async () => {
    const { text, report } = await fixtureExport();
    const other = { ...report.manifest, fill: { latencyMs: 5_000 } };
    const r = await run(["e.ndjson", "--report", "r.json", "--config", "m.json"], {
      "e.ndjson": text,
      "r.json": JSON.stringify(report),
      "m.json": JSON.stringify(other),
    });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^MISMATCH: the export replays to a different report/);
    const set = await evidence();
    const expected = await runReplay(set, config({ codeVersion: "dev", latencyMs: 5_000 }));
    expect(expected.ok && r.out).toContain(
      `(recomputed): ${expected.ok ? await reportHash(expected.report) : ""}`,
    );
  });

  it("refuses a report file changed after the fact (its record names another hash)", async () => {
    const { text, report } = await fixtureExport();
    const hash = await reportHash(report);
    const edited = { ...report, summary: { ...report.summary, pnl: "1000000.0000" } };
    const r = await run(["e.ndjson", "--report", "a.json"], {
      "e.ndjson": text,
      "a.json": JSON.stringify({ replay: { reportHash: hash }, report: edited }),
    });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^MISMATCH: a\.json's report hashes to [0-9a-f]{64}, but its record names/);
  });

  it("refuses a cut-off export or a changed byte with the line, exit 1", async () => {
    const { text, report } = await fixtureExport();
    const lines = text.trimEnd().split("\n");
    const files = { "r.json": JSON.stringify(report), "cut.ndjson": `${lines.slice(0, 5).join("\n")}\n` };
    const cut = await run(["cut.ndjson", "--report", "r.json"], files);
    expect(cut.code).toBe(1);
    expect(cut.err).toBe(
      "REFUSED cut.ndjson: line 5: the file ends without its trailer: it was cut off (export_truncated)",
    );
    const victim = report.manifest.evidence[0]!;
    const bad = await run(["bad.ndjson", "--report", "r.json"], {
      ...files,
      "bad.ndjson": alterObject(text, victim),
    });
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(
      new RegExp(
        `^REFUSED bad.ndjson: line \\d+: evidence ${victim}: its bytes hash to [0-9a-f]{64} \\(evidence_hash_mismatch\\)$`,
      ),
    );
  });

  it("answers usage and unreadable files with exit 2", async () => {
    expect((await run([], {})).code).toBe(2);
    expect((await run(["e.ndjson"], {})).code).toBe(2);
    expect((await run(["e.ndjson", "--report", "r.json", "--bogus"], {})).code).toBe(2);
    const missing = await run(["e.ndjson", "--report", "r.json"], {});
    expect([missing.code, missing.err]).toEqual([2, "cannot read: ENOENT: e.ndjson"]);
    const notJson = await run(["e.ndjson", "--report", "r.json"], { "e.ndjson": "", "r.json": "{" });
    expect([notJson.code, notJson.err]).toEqual([2, "report r.json is not JSON"]);
    expect((await run(["--help"], {})).code).toBe(0);
  });
});
