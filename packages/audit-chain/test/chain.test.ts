import { webcrypto } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ANCHOR_GENESIS_HASH,
  anchorRefusal,
  buildAnchor,
  buildEntry,
  ChainVerifier,
  entryLine,
  entryPreimage,
  GENESIS_HASH,
  GENESIS_POINT,
  hashAnchor,
  hashEntry,
  LineBytes,
  sha256Hex,
  verifyAnchors,
  verifyBatchCopy,
} from "../src/index";
import { anchorAt, buildChain, eventArb, mirror, mirroredChain } from "./helpers";

const events = (min: number, max: number) => fc.array(eventArb, { minLength: min, maxLength: max });

function verifyLines(lines: string[], rowSeqs?: number[]) {
  const v = new ChainVerifier();
  for (let i = 0; i < lines.length; i++) if (v.next(lines[i]!, rowSeqs?.[i])) break;
  return v;
}

/** A batch's lines as its R2 copy holds them, encoded independently of the verifier. */
function linesOf(lines: string[], batch: { fromSeq: number; toSeq: number }): Uint8Array {
  return new TextEncoder().encode(
    lines
      .slice(batch.fromSeq - 1, batch.toSeq)
      .map((l) => `${l}\n`)
      .join(""),
  );
}

async function subtleHex(text: string): Promise<string> {
  const digest = await webcrypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Buffer.from(digest).toString("hex");
}

describe("entry hashing", () => {
  it("hashes exactly the documented preimage, checked with an independent SHA-256", async () => {
    await fc.assert(
      fc.asyncProperty(eventArb, async (event) => {
        const entry = buildEntry(GENESIS_POINT, event, "2026-01-01T00:00:00.000Z");
        const preimage = entryPreimage(entry);
        expect(preimage.startsWith("paulp.audit.entry.v1\n{")).toBe(true);
        expect(entry.hash).toBe(await subtleHex(preimage));
      }),
      { numRuns: 50 },
    );
    expect(GENESIS_HASH).toBe(await subtleHex("paulp.audit.genesis.v1"));
    expect(ANCHOR_GENESIS_HASH).toBe(await subtleHex("paulp.audit.anchor-genesis.v1"));
  });

  it("starts at the genesis and links each entry to the previous hash", () => {
    const { lines } = buildChain([
      { type: "a.b", service: "risk", actor: { method: "system", subject: "cron" }, payload: { n: 1 } },
      { type: "a.c", service: "risk", actor: { method: "system", subject: "cron" }, payload: [1, "x"] },
    ]);
    const [e1, e2] = lines.map((l) => JSON.parse(l));
    expect(e1.seq).toBe(1);
    expect(e1.prevHash).toBe(GENESIS_HASH);
    expect(e2.prevHash).toBe(e1.hash);
    expect(hashEntry(e2)).toBe(e2.hash);
  });

  it("separates domains: the same fields hashed as an anchor give a different digest", () => {
    const entry = buildEntry(
      GENESIS_POINT,
      { type: "a.b", service: "audit", actor: { method: "system", subject: "x" }, payload: null },
      "t",
    );
    expect(sha256Hex(entryPreimage(entry).replace("paulp.audit.entry.v1", "paulp.audit.anchor.v1"))).not.toBe(
      entry.hash,
    );
  });

  it("refuses payloads JSON cannot represent", () => {
    const base = {
      type: "a.b",
      service: "audit" as const,
      actor: { method: "system" as const, subject: "x" },
    };
    expect(() => buildEntry(GENESIS_POINT, { ...base, payload: { x: Number.NaN } }, "t")).toThrow(
      /not representable/,
    );
    expect(() => buildEntry(GENESIS_POINT, { ...base, payload: [Number.POSITIVE_INFINITY] }, "t")).toThrow();
    expect(() => buildEntry(GENESIS_POINT, { ...base, payload: "\ud800" }, "t")).toThrow(/lone surrogate/);
  });
});

describe("chain verification", () => {
  it("accepts any untouched chain", () => {
    fc.assert(
      fc.property(events(1, 30), (evs) => {
        const { lines, head } = buildChain(evs);
        const v = verifyLines(
          lines,
          lines.map((_, i) => i + 1),
        );
        expect(v.broken).toBeNull();
        expect(v.head).toEqual(head);
        expect(v.checked).toBe(evs.length);
      }),
    );
  });

  it("names the changed entry for any single-byte change to a stored entry", () => {
    fc.assert(
      fc.property(
        events(1, 25),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (evs, which, pos, delta) => {
          const { lines } = buildChain(evs);
          const i = which % lines.length;
          const bytes = Buffer.from(lines[i]!, "utf8");
          const at = pos % bytes.length;
          bytes[at] = (bytes[at]! + delta) % 256;
          const tampered = [...lines];
          tampered[i] = bytes.toString("utf8");
          const v = verifyLines(
            tampered,
            lines.map((_, k) => k + 1),
          );
          expect(v.broken?.seq).toBe(i + 1);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("names a deleted entry, whether storage keys or line order shows the gap", () => {
    fc.assert(
      fc.property(events(3, 20), fc.nat(), (evs, which) => {
        const { lines } = buildChain(evs);
        const i = which % (lines.length - 1); // not the tail: a tail deletion is caught by anchors
        const kept = lines.filter((_, k) => k !== i);
        const rows = lines.map((_, k) => k + 1).filter((_, k) => k !== i);
        expect(verifyLines(kept, rows).broken).toMatchObject({
          seq: i + 1,
          reason: expect.stringMatching(/missing/),
        });
        expect(verifyLines(kept).broken).toMatchObject({
          seq: i + 1,
          reason: expect.stringMatching(/missing/),
        });
      }),
    );
  });

  it("names the first of two swapped entries", () => {
    fc.assert(
      fc.property(events(3, 20), fc.nat(), fc.nat(), (evs, a, b) => {
        const { lines } = buildChain(evs);
        const i = a % lines.length;
        const j = b % lines.length;
        fc.pre(i !== j);
        const swapped = [...lines];
        [swapped[i], swapped[j]] = [swapped[j]!, swapped[i]!];
        expect(
          verifyLines(
            swapped,
            lines.map((_, k) => k + 1),
          ).broken?.seq,
        ).toBe(Math.min(i, j) + 1);
      }),
    );
  });

  it("refuses a chain forged with recomputed hashes that do not link", () => {
    const { lines } = buildChain([
      { type: "a.b", service: "risk", actor: { method: "system", subject: "x" }, payload: 1 },
      { type: "a.b", service: "risk", actor: { method: "system", subject: "x" }, payload: 2 },
    ]);
    // Rewrite entry 2 with a valid hash over a wrong prevHash: the link check must catch it.
    const e2 = JSON.parse(lines[1]!);
    const forged = buildEntry({ seq: 1, hash: "0".repeat(64) }, { ...e2 }, e2.ts);
    const v = verifyLines([lines[0]!, entryLine(forged)]);
    expect(v.broken).toMatchObject({ seq: 2, reason: expect.stringMatching(/prevHash/) });
  });
});

describe("R2 copies", () => {
  it("names the entry of any single-byte change in a batch object", () => {
    fc.assert(
      fc.property(
        events(1, 20),
        fc.integer({ min: 1, max: 7 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (evs, size, which, pos, delta) => {
          const { lines } = buildChain(evs);
          const { batches, objects } = mirror(lines, size);
          const batch = batches[which % batches.length]!;
          const bytes = Uint8Array.from(objects.get(batch.key)!);
          const at = pos % bytes.length;
          bytes[at] = (bytes[at]! + delta) % 256;
          // The entry whose line holds byte `at`.
          const expectedSeq =
            batch.fromSeq + [...objects.get(batch.key)!.subarray(0, at)].filter((c) => c === 0x0a).length;
          const broken = verifyBatchCopy(batch, bytes, linesOf(lines, batch));
          expect(broken?.seq).toBe(expectedSeq);
          for (const other of batches)
            if (other !== batch)
              expect(verifyBatchCopy(other, objects.get(other.key)!, linesOf(lines, other))).toBeNull();
        },
      ),
      { numRuns: 200 },
    );
  });

  it("reports a missing or truncated copy", () => {
    const { lines } = buildChain(fc.sample(eventArb, 6));
    const { batches, objects } = mirror(lines, 3);
    const b = batches[1]!;
    expect(verifyBatchCopy(b, null, linesOf(lines, b))).toMatchObject({
      seq: 4,
      reason: expect.stringMatching(/missing/),
    });
    const cut = objects.get(b.key)!.subarray(0, objects.get(b.key)!.length - 2);
    expect(verifyBatchCopy(b, cut, linesOf(lines, b))).toMatchObject({
      seq: 6,
      reason: expect.stringMatching(/truncated/),
    });
    const longer = new Uint8Array([...objects.get(b.key)!, 0x7b, 0x0a]);
    expect(verifyBatchCopy(b, longer, linesOf(lines, b))).toMatchObject({
      seq: 6,
      reason: expect.stringMatching(/trailing bytes/),
    });
    // Same bytes, but R2 recorded another SHA-256 than the manifest's: the copy is not the one anchored.
    expect(verifyBatchCopy(b, objects.get(b.key)!, linesOf(lines, b), "0".repeat(64))).toMatchObject({
      seq: 4,
      reason: expect.stringMatching(/SHA-256 differs/),
    });
    expect(verifyBatchCopy(b, objects.get(b.key)!, linesOf(lines, b), b.sha256)).toBeNull();
    // The chain lost its tail inside the batch (rows 4 and 5 left of 4..6): the first entry gone is named.
    expect(verifyBatchCopy(b, objects.get(b.key)!, linesOf(lines, { fromSeq: 4, toSeq: 5 }))).toMatchObject({
      seq: 6,
      reason: expect.stringMatching(/entry 6 of R2 copy .* is not in the chain/),
    });
  });

  it("names a row that storage hands back as bytes instead of text", () => {
    const { lines } = buildChain(fc.sample(eventArb, 3));
    const v = new ChainVerifier();
    const into = new LineBytes();
    v.next(lines[0]!, 1, false, into);
    const blob = new TextEncoder().encode(lines[1]!).buffer as unknown as string;
    expect(v.next(blob, 2, false, into)).toEqual({ seq: 2, reason: "entry 2 is not stored as text" });
    expect(v.next(lines[2]!, 3, false, into)).toEqual({ seq: 2, reason: "entry 2 is not stored as text" });
    // Nothing is added for the bytes row, so its R2 copy differs at that entry too.
    expect(Buffer.from(into.bytes).equals(linesOf([lines[0]!, lines[2]!], { fromSeq: 1, toSeq: 2 }))).toBe(
      true,
    );
  });

  it("the walk collects exactly the bytes of the lines it was given, also past a break", () => {
    fc.assert(
      fc.property(events(1, 12), fc.nat(), fc.nat(), fc.boolean(), (evs, which, pos, breakIt) => {
        const { lines } = buildChain(evs);
        const given = [...lines];
        if (breakIt) {
          // Any single-character edit, anywhere (layout, hash field, payload, link): the chain breaks there.
          const i = which % given.length;
          const at = pos % given[i]!.length;
          const c = given[i]![at] === "\u00e9" ? "\u00e8" : "\u00e9";
          given[i] = `${given[i]!.slice(0, at)}${c}${given[i]!.slice(at + 1)}`;
        }
        const v = new ChainVerifier();
        const into = new LineBytes();
        for (const [i, l] of given.entries()) v.next(l, i + 1, false, into);
        expect(Buffer.from(into.bytes).equals(linesOf(given, { fromSeq: 1, toSeq: given.length }))).toBe(
          true,
        );
        expect(v.broken === null).toBe(!breakIt);
      }),
      { numRuns: 200 },
    );
  });
});

describe("anchors", () => {
  const chain = () => mirroredChain(fc.sample(eventArb, 12), 4); // anchors at 4, 8, 12

  function check(c: ReturnType<typeof chain>, anchors = c.anchors, headSeq = c.head.seq) {
    const hashes = new Map(c.lines.map((l, i) => [i + 1, (JSON.parse(l) as { hash: string }).hash]));
    return verifyAnchors(anchors, { headSeq, hashAt: (s) => hashes.get(s), batches: c.batches });
  }

  it("accepts a consistent anchor chain", () => {
    const c = chain();
    expect(c.anchors.map((a) => a.toSeq)).toEqual([4, 8, 12]);
    expect(check(c)).toBeNull();
  });

  it("detects any edited field of an anchor row, naming the anchor", () => {
    const fields = [
      "anchorNo",
      "toSeq",
      "headHash",
      "prevAnchorHash",
      "anchoredAt",
      "r2ManifestHash",
      "anchorHash",
    ] as const;
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.integer({ min: 0, max: 2 }), (field, which) => {
        const c = chain();
        const anchors = c.anchors.map((a) => ({ ...a }));
        const a = anchors[which]! as Record<string, unknown>;
        const old = a[field];
        a[field] =
          typeof old === "number"
            ? old + 1
            : `${(old as string).slice(0, -1)}${(old as string).endsWith("0") ? "1" : "0"}`;
        const broken = check(c, anchors);
        expect(broken).not.toBeNull();
        expect(broken!.anchorNo).toBeLessThanOrEqual(
          which + 1 + (field === "anchorNo" || field === "anchorHash" ? 1 : 0),
        );
      }),
    );
  });

  it("detects a forked anchor (a valid row built on an older anchor)", () => {
    const c = chain();
    const fork = buildAnchor(
      c.anchors[0]!,
      { seq: 8, hash: c.anchors[1]!.headHash },
      "2026-01-02T00:00:00.000Z",
      c.anchors[1]!.r2ManifestHash,
    );
    const forked = [...c.anchors.slice(0, 2), fork, ...c.anchors.slice(2)];
    expect(check(c, forked)).toMatchObject({ anchorNo: 2, reason: expect.stringMatching(/twice \(fork\)/) });
    // Replacing anchor 3 by a row that links to anchor 1.
    const relinked = buildAnchor(
      c.anchors[0]!,
      { seq: 12, hash: c.anchors[2]!.headHash },
      "t",
      c.anchors[2]!.r2ManifestHash,
    );
    const row3 = { ...relinked, anchorNo: 3 };
    row3.anchorHash = hashAnchor(row3);
    expect(check(c, [c.anchors[0]!, c.anchors[1]!, row3])).toMatchObject({
      anchorNo: 3,
      reason: expect.stringMatching(/fork/),
    });
  });

  it("refuses a well-formed anchor whose toSeq is not the end of a mirror batch", () => {
    const c = chain();
    // A consistent row (its own hash, link, real head hash, the manifest of the batches it covers) at 6.
    const hash6 = (JSON.parse(c.lines[5]!) as { hash: string }).hash;
    const mid = buildAnchor(
      c.anchors[0]!,
      { seq: 6, hash: hash6 },
      "2026-01-02T00:00:00.000Z",
      c.anchors[0]!.r2ManifestHash,
    );
    expect(check(c, [c.anchors[0]!, mid])).toMatchObject({
      seq: 6,
      anchorNo: 2,
      reason: "anchor 2 toSeq 6 is not the end of a mirror batch",
    });
  });

  it("detects a tail truncated below the last anchor, naming the first missing seq", () => {
    const c = chain();
    expect(check(c, c.anchors, 10)).toMatchObject({
      seq: 11,
      anchorNo: 3,
      reason: expect.stringMatching(/truncated/),
    });
  });

  it("detects an anchored head that no longer matches the chain, and a rewritten manifest", () => {
    const c = chain();
    const other = buildChain(fc.sample(eventArb, 12));
    const hashes = new Map(other.lines.map((l, i) => [i + 1, (JSON.parse(l) as { hash: string }).hash]));
    expect(
      verifyAnchors(c.anchors, { headSeq: 12, hashAt: (s) => hashes.get(s), batches: c.batches }),
    ).toMatchObject({
      seq: 4,
      anchorNo: 1,
    });
    const batches = c.batches.map((b, i) => (i === 1 ? { ...b, sha256: "f".repeat(64) } : b));
    const map = new Map(c.lines.map((l, i) => [i + 1, (JSON.parse(l) as { hash: string }).hash]));
    expect(verifyAnchors(c.anchors, { headSeq: 12, hashAt: (s) => map.get(s), batches })).toMatchObject({
      anchorNo: 2,
      reason: expect.stringMatching(/manifest/),
    });
  });

  it("refuses to write a fork, a skipped number or a backwards toSeq", () => {
    const c = chain();
    const [a1, a2] = c.anchors;
    const next = buildAnchor(a2!, { seq: 12, hash: c.head.hash }, "t", "m");
    expect(anchorRefusal(a2!, next)).toBeNull();
    expect(anchorRefusal(a1!, next)).toMatch(/not the next/);
    const fork = { ...buildAnchor(a1!, { seq: 12, hash: c.head.hash }, "t", "m"), anchorNo: 3 };
    expect(anchorRefusal(a2!, fork)).toMatch(/fork/);
    expect(anchorRefusal(a2!, buildAnchor(a2!, { seq: 5, hash: "x" }, "t", "m"))).toMatch(/backwards/);
    expect(anchorRefusal(null, buildAnchor(null, c.head, "t", "m"))).toBeNull();
  });

  it("anchorAt helper agrees with the sequencer rule (anchors only at mirrored batch ends)", () => {
    const { lines } = buildChain(fc.sample(eventArb, 5));
    const { batches } = mirror(lines, 2);
    expect(anchorAt(lines, batches, [2, 4]).map((a) => a.prevAnchorHash)[0]).toBe(ANCHOR_GENESIS_HASH);
  });
});

describe("stored bytes are proved canonical before they are hashed", () => {
  const actor = { method: "system" as const, subject: "sübject ✓ 😀" };

  it("accepts chains of entries with non-ASCII actors and payloads (hashed from the line's UTF-8 bytes)", () => {
    const unicode = fc.record({
      type: fc.constant("a.b"),
      service: fc.constant("risk" as const),
      actor: fc.record({ method: fc.constant("system" as const), subject: fc.string({ unit: "grapheme" }) }),
      payload: fc.jsonValue({ maxDepth: 3, stringUnit: "grapheme" }),
    });
    fc.assert(
      fc.property(fc.array(unicode, { minLength: 1, maxLength: 8 }), (evs) => {
        const { lines } = buildChain(evs as Parameters<typeof buildChain>[0]);
        expect(verifyLines(lines).broken).toBeNull();
      }),
      { numRuns: 100 },
    );
  });

  it("rejects a self-consistent line whose payload is not in RFC 8785 form, even with a matching hash", () => {
    const variants: [string, string][] = [
      ['{"a":1,"b":2}', '{"b":2,"a":1}'], // member order
      ['{"a":1,"b":2}', '{"a":1, "b":2}'], // whitespace
      ['{"a":"A"}', '{"a":"\\u0041"}'], // needless escape
      ['{"a":1}', '{"a":1.0}'], // number form
    ];
    for (const [canonical, other] of variants) {
      const entry = buildEntry(
        GENESIS_POINT,
        { type: "a.b", service: "risk", actor, payload: JSON.parse(canonical) },
        "t",
      );
      const line = entryLine(entry).replace(`"payload":${canonical}`, `"payload":${other}`);
      // Re-hash the altered bytes the way a byte-only verifier would: the hash alone cannot catch it.
      const cut = line.replace(`"hash":"${entry.hash}",`, "");
      const forged = line.replace(entry.hash, sha256Hex(`paulp.audit.entry.v1\n${cut}`));
      const v = verifyLines([forged]);
      expect([other, v.broken?.reason]).toEqual([other, "entry 1 is not in canonical form"]);
    }
  });

  it("rejects non-canonical escapes in the envelope strings too", () => {
    const entry = buildEntry(GENESIS_POINT, { type: "a.b", service: "risk", actor, payload: null }, "t");
    const line = entryLine(entry).replace('"type":"a.b"', '"type":"a\\u002eb"');
    expect(verifyLines([line]).broken?.reason).toMatch(/entry 1 is /);
  });
});

describe("ChainVerifier reasons (fields read at fixed offsets)", () => {
  const event = {
    type: "risk.decision",
    service: "risk" as const,
    actor: { method: "system" as const, subject: "t" },
    payload: { a: 1 },
  };
  const { lines, head } = buildChain([event, event, event]);
  const walk = (edit: (l: string) => string, rowSeq?: number) => {
    const v = new ChainVerifier();
    v.next(lines[0]!, 1);
    return v.next(edit(lines[1]!), rowSeq ?? 2);
  };

  it("accepts the chain and reports its head", () => {
    const v = new ChainVerifier();
    for (const [i, l] of lines.entries()) expect(v.next(l, i + 1)).toBeNull();
    expect(v.head).toEqual(head);
    expect(v.checked).toBe(3);
  });

  it("names a seq ahead, behind, 16 digits long, a broken link and a misfiled row", () => {
    expect(walk((l) => l.replace('"seq":2,', '"seq":5,'))).toMatchObject({
      seq: 2,
      reason: "entry 2 is missing (found seq 5)",
    });
    expect(walk((l) => l.replace('"seq":2,', '"seq":1,'))).toMatchObject({
      seq: 2,
      reason: "entry out of order (found seq 1)",
    });
    expect(walk((l) => l.replace('"seq":2,', '"seq":1234567890123456,'))).toMatchObject({
      seq: 2,
      reason: "entry 2 is missing (found seq 1234567890123456)",
    });
    expect(
      walk((l) => l.replace(/"prevHash":"./, (m) => `${m.slice(0, -1)}${m.endsWith("0") ? "1" : "0"}`)),
    ).toMatchObject({
      seq: 2,
      reason: "entry 2 prevHash does not link to entry 1",
    });
    expect(walk((l) => l, 3)).toMatchObject({ seq: 2, reason: "entry 2 is missing (next stored is 3)" });
    expect(
      walk((l) => l.replace(/"hash":"./, (m) => `${m.slice(0, -1)}${m.endsWith("0") ? "1" : "0"}`)),
    ).toMatchObject({
      seq: 2,
      reason: "entry 2 hash does not match its contents",
    });
  });

  it("accepts the two hash fields only as the exact lowercase hex (the patterns take any 64 characters)", () => {
    // Any one of the 64 characters of either field replaced by anything else: its upper case (same value),
    // a quote, a backslash, a control, a lone surrogate, a non-hex letter, or a two-unit character.
    fc.assert(
      fc.property(
        fc.constantFrom("hash", "prevHash"),
        fc.integer({ min: 0, max: 63 }),
        fc.constantFrom("upper", '"', "\\", "\u0000", "\n", "\ud800", "g", "\u00e9", "\u{1f600}"),
        (key, i, text) => {
          const l = lines[1]!;
          const at = l.indexOf(`"${key}":"`) + key.length + 4 + i;
          const c = text === "upper" ? l[at]!.toUpperCase() : text;
          fc.pre(c !== l[at]);
          expect(walk(() => l.slice(0, at) + c + l.slice(at + 1))?.seq).toBe(2);
        },
      ),
    );
  });
});
