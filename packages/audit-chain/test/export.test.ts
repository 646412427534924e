import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { verifyExport } from "../src/index";
import { eventArb, exportText, mirroredChain } from "./helpers";

const sample = (n: number, batch = 4) => {
  const c = mirroredChain(fc.sample(eventArb, n), batch);
  return { ...c, text: exportText(c.lines, c.batches, c.anchors) };
};

describe("verifyExport", () => {
  it("accepts an untouched export and reports its head and anchors", () => {
    const c = sample(10);
    const report = verifyExport(c.text);
    expect(report).toMatchObject({
      ok: true,
      entries: 10,
      batches: 3,
      anchors: 3,
      head: c.head,
      broken: null,
    });
    expect(report.lastAnchor?.toSeq).toBe(10);
    expect(verifyExport(new TextEncoder().encode(c.text)).ok).toBe(true);
  });

  it("fails on any single-byte change, naming the entry when the byte is in an entry line", () => {
    fc.assert(
      fc.property(
        fc.array(eventArb, { minLength: 1, maxLength: 12 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (evs, pos, delta) => {
          const c = mirroredChain(evs, 3);
          const bytes = new TextEncoder().encode(exportText(c.lines, c.batches, c.anchors));
          const at = pos % bytes.length;
          const lineNo = bytes.subarray(0, at).filter((b) => b === 0x0a).length + 1;
          const tampered = Uint8Array.from(bytes);
          tampered[at] = (tampered[at]! + delta) % 256;
          const report = verifyExport(tampered);
          expect(report.ok).toBe(false);
          // Line 1 is the header; lines 2..n+1 are entries 1..n. A newline byte belongs to the line it ends.
          const isEntryLine = lineNo >= 2 && lineNo <= evs.length + 1;
          if (isEntryLine && bytes[at] !== 0x0a) expect(report.broken?.seq).toBe(lineNo - 1);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("is not fooled by payloads that look like export records", () => {
    const base = {
      type: "risk.decision",
      service: "risk" as const,
      actor: { method: "system" as const, subject: "x" },
    };
    const c = mirroredChain(
      [
        { ...base, payload: { kind: "anchor", anchorNo: 1 } },
        { ...base, payload: { kind: "batch", hash: "0".repeat(64), prevHash: "x" } },
        { ...base, payload: 'a "kind":"entry" b' },
      ],
      2,
    );
    expect(verifyExport(exportText(c.lines, c.batches, c.anchors))).toMatchObject({ ok: true, entries: 3 });
  });

  it("fails a deleted entry line, swapped entry lines, a dropped tail and an extra anchor", () => {
    const c = sample(9, 3);
    const lines = c.text.slice(0, -1).split("\n");
    const join = (ls: string[]) => `${ls.join("\n")}\n`;
    expect(verifyExport(join(lines.filter((_, i) => i !== 4))).broken).toMatchObject({ seq: 4 });
    const swapped = [...lines];
    [swapped[3], swapped[6]] = [swapped[6]!, swapped[3]!];
    expect(verifyExport(join(swapped)).broken).toMatchObject({ seq: 3 });
    // Drop entries 8 and 9 (and keep batches/anchors): the anchors now point past the head.
    const truncated = lines.filter((_, i) => i !== 8 && i !== 9);
    expect(verifyExport(join(truncated)).broken).toMatchObject({ seq: 8 });
    // The whole file cut mid-way is refused too.
    expect(verifyExport(c.text.slice(0, c.text.length - 20)).ok).toBe(false);
  });

  it("fails an export cut at a line boundary, or with its trailing records removed (the end line)", () => {
    const c = sample(9, 3);
    const lines = c.text.slice(0, -1).split("\n");
    const join = (ls: string[]) => `${ls.join("\n")}\n`;
    // Cut after the 6th entry: every remaining line is whole and valid, only the end is missing.
    const cut = verifyExport(join(lines.slice(0, 7)));
    expect(cut.ok).toBe(false);
    expect(cut.broken).toMatchObject({ seq: 7, reason: expect.stringMatching(/no end line/) });
    // Batches and anchors dropped, the end line kept: its counts disagree.
    const noAnchors = lines.filter((l) => !l.includes('"kind":"anchor"'));
    expect(verifyExport(join(noAnchors)).broken?.reason).toMatch(/end line says/);
    // An end line not at the end is out of order.
    const early = [...lines.slice(0, 3), lines.at(-1)!, ...lines.slice(3)];
    expect(verifyExport(join(early)).ok).toBe(false);
  });
});

describe("pnpm audit:verify (offline CLI)", () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
  const tsx = path.join(root, "node_modules/.bin/tsx");
  const cli = path.join(root, "packages/audit-chain/src/cli.ts");
  const run = (args: string[]) => {
    try {
      return { code: 0, out: execFileSync(tsx, [cli, ...args], { encoding: "utf8", stdio: "pipe" }) };
    } catch (error) {
      const e = error as { status: number; stderr: string };
      return { code: e.status, out: e.stderr };
    }
  };

  // Four real CLI processes (node + tsx each), one after another: on a loaded 2-core machine each start takes seconds.
  it("exits 0 on a good export, 1 naming the first broken entry on a changed byte, 2 on a missing file", {
    timeout: 180_000,
  }, () => {
    const dir = mkdtempSync(path.join(tmpdir(), "audit-verify-"));
    const c = sample(6, 2);
    const good = path.join(dir, "good.ndjson");
    writeFileSync(good, c.text);
    const ok = run([good, "--anchor", c.anchors.at(-1)!.anchorHash]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain("OK: 6 entries");

    // Change one byte inside entry 4's payload region: the line is the 5th.
    const lines = c.text.split("\n");
    const target = lines[4]!;
    const at = target.indexOf('"ts":"') + 8;
    lines[4] = `${target.slice(0, at)}${target[at] === "9" ? "8" : "9"}${target.slice(at + 1)}`;
    const bad = path.join(dir, "bad.ndjson");
    writeFileSync(bad, lines.join("\n"));
    const broken = run([bad]);
    expect(broken.code).toBe(1);
    expect(broken.out).toMatch(/BROKEN at seq 4 \(line 5\)/);

    const unknownAnchor = run([good, "--anchor", "0".repeat(64)]);
    expect(unknownAnchor.code).toBe(1);
    expect(run([path.join(dir, "nope.ndjson")]).code).toBe(2);
  });
});
