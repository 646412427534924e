import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hashAnchor, verifyExport } from "../src/index";
import { eventArb, exportText, mirroredChain, testKey, verifier } from "./helpers";

const pinned = { verifiers: [verifier] };

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
          const report = verifyExport(tampered, pinned);
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

describe("every refusal names the line and the seq it concerns", () => {
  // 9 entries in batches of 3: line 1 header, lines 2..10 entries 1..9, 11..13 batches, 14..16 anchors, 17 end.
  const c = sample(9, 3);
  const lines = c.text.slice(0, -1).split("\n");
  const encode = (t: string) => new TextEncoder().encode(t);
  /** The file's bytes with one byte of `line` (1-based) replaced by an invalid UTF-8 byte. */
  const withBadByte = (line: number, at = 5) => {
    const bytes = encode(c.text);
    let offset = 0;
    for (let i = 1; i < line; i++) offset += encode(lines[i - 1]!).length + 1;
    bytes[offset + at] = 0xff;
    return bytes;
  };

  it("a file cut mid-line names that line and its seq, not seq 1", () => {
    const cutInEntry5 = c.text.slice(0, c.text.indexOf(lines[5]!) + 40);
    expect(verifyExport(cutInEntry5).broken).toMatchObject({ seq: 5, line: 6, reason: /line 6 is cut off/ });
    // Cut inside the second batch line (entries 4..6): its fromSeq is what it concerns.
    const cutInBatch = c.text.slice(0, c.text.indexOf(lines[11]!) + 30);
    expect(verifyExport(cutInBatch).broken).toMatchObject({ seq: 4, line: 12 });
    // An entry broken before the cut is still the first thing named.
    const tampered = c.text.replace(lines[2]!, lines[2]!.replace('"ts":"2', '"ts":"3'));
    expect(verifyExport(tampered.slice(0, -5)).broken).toMatchObject({ seq: 2, line: 3 });
  });

  it("an invalid UTF-8 byte names its own line and seq, wherever it is", () => {
    expect(verifyExport(withBadByte(8)).broken).toMatchObject({
      seq: 7,
      line: 8,
      reason: /line 8 is not valid UTF-8/,
    });
    // After the first batch line: in the second batch (entries 4..6) and in the third anchor (toSeq 9).
    expect(verifyExport(withBadByte(12, 40)).broken).toMatchObject({ seq: 4, line: 12 });
    expect(verifyExport(withBadByte(16, 2)).broken).toMatchObject({ seq: 9, line: 16 });
    for (const line of [12, 16, 17])
      expect(verifyExport(withBadByte(line)).broken!.seq).toBeLessThanOrEqual(9);
  });

  it("an end line whose headSeq is not a number is malformed, never NaN", () => {
    const end = lines.at(-1)!.replace(/"headSeq":\d+/, '"headSeq":"x"');
    const report = verifyExport(`${[...lines.slice(0, -1), end].join("\n")}\n`);
    expect(report.broken).toMatchObject({
      seq: 9,
      line: 17,
      reason: /end line is malformed: headSeq is "x"/,
    });
    const batch = lines[11]!.replace(/"toSeq":6/, '"toSeq":6.5');
    const bad = verifyExport(`${[...lines.slice(0, 11), batch, ...lines.slice(12)].join("\n")}\n`);
    expect(bad.broken).toMatchObject({ seq: 4, line: 12, reason: /batch line is malformed: toSeq is 6.5/ });
  });

  it("a leading byte-order mark is refused, as bytes or as text", () => {
    const bom = Uint8Array.from([0xef, 0xbb, 0xbf, ...encode(c.text)]);
    expect(verifyExport(bom).broken).toMatchObject({ seq: 1, line: 1, reason: /byte-order mark/ });
    expect(verifyExport(`\uFEFF${c.text}`).broken).toMatchObject({ seq: 1, line: 1 });
  });
});

describe("pnpm audit:verify (offline CLI)", () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
  const tsx = path.join(root, "node_modules/.bin/tsx");
  const cli = path.join(root, "packages/audit-chain/src/cli.ts");
  const run = (args: string[], env: Record<string, string> = {}) => {
    try {
      const options = { encoding: "utf8" as const, stdio: "pipe" as const, env: { ...process.env, ...env } };
      return { code: 0, out: execFileSync(tsx, [cli, ...args], options) };
    } catch (error) {
      const e = error as { status: number; stderr: string };
      return { code: e.status, out: e.stderr };
    }
  };

  // Real CLI processes (node + tsx each, up to five per test): on a loaded 2-core machine each start takes seconds.
  const CLI_TIMEOUT_MS = 180_000;
  /** A sample export of `entries` entries (a batch every `perBatch`) written to a fresh directory. */
  const written = (entries: number, perBatch: number) => {
    const dir = mkdtempSync(path.join(tmpdir(), "audit-verify-"));
    const c = sample(entries, perBatch);
    const good = path.join(dir, "good.ndjson");
    writeFileSync(good, c.text);
    return { dir, c, good };
  };

  it("checks anchor signatures with the pinned key (--key or PAULP_AUDIT_KEY) and refuses an edited anchor", {
    timeout: CLI_TIMEOUT_MS,
  }, () => {
    const { dir, c, good } = written(6, 2);
    const signed = run([good, "--key", testKey.verifierKey]);
    expect(signed.code).toBe(0);
    expect(signed.out).toContain("signed checkpoint verified");
    const unsigned = run([good]);
    expect(unsigned.code).toBe(0);
    expect(unsigned.out).toContain("WARNING: anchor signatures NOT checked");
    const pinned = run([good], { PAULP_AUDIT_KEY: testKey.verifierKey });
    expect(pinned.out).toContain("signed checkpoint verified");
    // The newest anchor's time rewritten with its hash recomputed: one field, every hash consistent.
    const last = c.anchors.at(-1)!;
    const edited = { ...last, anchoredAt: "2026-01-01T09:00:00.000Z" };
    edited.anchorHash = hashAnchor(edited);
    const bad = path.join(dir, "bad.ndjson");
    writeFileSync(bad, exportText(c.lines, c.batches, [...c.anchors.slice(0, -1), edited]));
    const refused = run([bad, "--key", testKey.verifierKey]);
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(
      /BROKEN at seq 6 \[anchor 3\]: anchor 3 checkpoint root hash is not the anchor hash/,
    );
    expect(run([good, "--key", "not-a-key"])).toMatchObject({
      code: 2,
      out: expect.stringMatching(/bad verifier key/),
    });
  });

  it("names the line and seq of a headSeq that is not a number (never NaN)", {
    timeout: CLI_TIMEOUT_MS,
  }, () => {
    const { dir, c } = written(4, 2);
    const file = path.join(dir, "nan.ndjson");
    writeFileSync(file, c.text.replace(/"headSeq":\d+/, '"headSeq":"x"'));
    const r = run([file]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^BROKEN at seq 4 \(line \d+\): end line is malformed/);
    expect(r.out).not.toContain("NaN");
  });

  it("exits 0 on a good export, 1 naming the first broken entry on a changed byte, 2 on a missing file", {
    timeout: CLI_TIMEOUT_MS,
  }, () => {
    const { dir, c, good } = written(6, 2);
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
