import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateAuditKey } from "../../../scripts/audit-keygen.mjs";
import {
  type AuditAnchor,
  base64,
  buildAnchor,
  checkpointRefusal,
  checkpointText,
  hashAnchor,
  manifestHash,
  NoteKeyError,
  parseSignerKey,
  parseVerifierKey,
  signCheckpoint,
  verifyAnchors,
} from "../src/index";
import { eventArb, mirroredChain, signer, verifier } from "./helpers";

const chain = () => mirroredChain(fc.sample(eventArb, 12), 4); // anchors at 4, 8, 12

function check(c: ReturnType<typeof chain>, anchors: AuditAnchor[], verifiers = [verifier]) {
  const hashes = new Map(c.lines.map((l, i) => [i + 1, (JSON.parse(l) as { hash: string }).hash]));
  return verifyAnchors(anchors, {
    headSeq: c.head.seq,
    hashAt: (s) => hashes.get(s),
    batches: c.batches,
    verifiers,
  });
}

describe("signed-note keys (Go sumdb note encoding, c2sp.org/signed-note key IDs)", () => {
  it("agrees with the published example key pair and its deterministic Ed25519 signature", () => {
    // From golang.org/x/mod/sumdb/note's package documentation: an independent implementation's vectors.
    const skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const text =
      "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const s = parseSignerKey(skey);
    expect(s.verifierKey).toBe(vkey);
    expect(s.keyId).toBe(0xc74f20a3);
    const id = Uint8Array.of(0xc7, 0x4f, 0x20, 0xa3);
    const sig = s.sign(text);
    expect(base64(Uint8Array.from([...id, ...sig]))).toBe(
      "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
    );
    expect(parseVerifierKey(vkey).verify(text, sig)).toBe(true);
    expect(parseVerifierKey(vkey).verify(text.replace("answer", "Answer"), sig)).toBe(false);
  });

  it("reads the keys scripts/audit-keygen.mjs generates, and refuses malformed or mismatched keys", () => {
    const k = generateAuditKey("ops.example.com/audit");
    expect(parseSignerKey(k.signerKey).verifierKey).toBe(k.verifierKey);
    expect(parseVerifierKey(k.verifierKey).name).toBe("ops.example.com/audit");
    const other = generateAuditKey("ops.example.com/audit");
    const [name, , key] = k.verifierKey.split("+") as [string, string, string];
    const otherId = other.verifierKey.split("+")[1]!;
    for (const bad of [
      "",
      "nonsense",
      `${name}+${otherId}+${key}`, // another key's ID
      `${name}+zzzzzzzz+${key}`,
      `bad name+${otherId}+${key}`,
      `${name}+${otherId}+${key.slice(0, -4)}`,
    ])
      expect(() => parseVerifierKey(bad), bad).toThrow(NoteKeyError);
    expect(() => parseSignerKey(k.verifierKey)).toThrow(NoteKeyError);
    expect(() => parseSignerKey(k.signerKey.replace(/\+[0-9a-f]{8}\+/, `+${otherId}+`))).toThrow(/key ID/);
  });
});

describe("signed anchors", () => {
  it("signs a checkpoint of origin, tree size and the anchor hash, as a signed note", () => {
    const c = chain();
    const a = c.anchors[2]!;
    expect(a.checkpoint!.startsWith(`${checkpointText(signer.name, a)}\n— ${signer.name} `)).toBe(true);
    expect(checkpointText(signer.name, a).split("\n")).toEqual([
      "paulp.test/audit",
      "12",
      Buffer.from(a.anchorHash, "hex").toString("base64"),
      "",
    ]);
    expect(check(c, c.anchors)).toBeNull();
  });

  it("refuses the newest anchor rewritten with its hash recomputed (toSeq lowered: a truncation it would hide)", () => {
    const c = chain();
    const [a1, a2, a3] = c.anchors as [AuditAnchor, AuditAnchor, AuditAnchor];
    // Anchor 3 moved back to seq 8 (a batch end), its head, manifest and hash all recomputed: every hash and link
    // checks out, so the entries after 8 could be dropped unseen. Only the signature tells.
    const hash8 = a2.headHash;
    const rewritten = {
      ...buildAnchor(a2, { seq: 8, hash: hash8 }, a3.anchoredAt, manifestHash(c.batches.slice(0, 2))),
      checkpoint: a3.checkpoint!,
    };
    const hashes = new Map(c.lines.map((l, i) => [i + 1, (JSON.parse(l) as { hash: string }).hash]));
    const unsignedCheck = verifyAnchors([a1, a2, rewritten], {
      headSeq: 8,
      hashAt: (s) => hashes.get(s),
      batches: c.batches.slice(0, 2),
    });
    expect(unsignedCheck).toBeNull();
    expect(check(c, [a1, a2, rewritten])).toMatchObject({
      anchorNo: 3,
      reason: expect.stringMatching(/anchor 3 checkpoint (tree size|root hash)/),
    });
  });

  it("refuses any edited field of a signed anchor even with its hash recomputed, naming the anchor", () => {
    const fields = ["anchoredAt", "r2ManifestHash", "headHash", "prevAnchorHash", "toSeq"] as const;
    fc.assert(
      fc.property(fc.constantFrom(...fields), (field) => {
        const c = chain();
        const anchors = c.anchors.map((a) => ({ ...a }));
        const last = anchors[2]! as Record<string, unknown>;
        const old = last[field];
        const text = old as string;
        last[field] =
          typeof old === "number" ? old - 4 : `${text.slice(0, -1)}${text.endsWith("0") ? "1" : "0"}`;
        last.anchorHash = hashAnchor(anchors[2]!);
        expect(check(c, anchors)).toMatchObject({ anchorNo: 3 });
      }),
    );
  });

  it("refuses an unsigned anchor, a forged signature, and a key it does not trust; ignores unknown cosigners", () => {
    const c = chain();
    const [a1, a2, a3] = c.anchors as [AuditAnchor, AuditAnchor, AuditAnchor];
    const { checkpoint: _, ...unsigned } = a3;
    expect(check(c, [a1, a2, unsigned])).toMatchObject({ anchorNo: 3, reason: /no signed checkpoint/ });
    const stranger = parseSignerKey(generateAuditKey("paulp.test/audit").signerKey);
    const forged = { ...a3, checkpoint: signCheckpoint(a3, stranger) };
    expect(check(c, [a1, a2, forged])).toMatchObject({ reason: /not signed by a trusted key/ });
    // The signature bytes changed under the trusted key's name and ID.
    const sigAt = a3.checkpoint!.lastIndexOf(" ") + 10;
    const flipped = `${a3.checkpoint!.slice(0, sigAt)}${a3.checkpoint![sigAt] === "A" ? "B" : "A"}${a3.checkpoint!.slice(sigAt + 1)}`;
    expect(check(c, [a1, a2, { ...a3, checkpoint: flipped }])).toMatchObject({ reason: /does not verify/ });
    // A second signature by a key nobody pinned is ignored (rotation, witnesses).
    const cosigned = `${a3.checkpoint!}${signCheckpoint(a3, stranger).split("\n\n")[1]!}`;
    expect(checkpointRefusal({ ...a3, checkpoint: cosigned }, [verifier])).toBeNull();
    // Without a pinned key only the text is checked: a stranger's well-formed note passes that part alone.
    expect(checkpointRefusal(forged, null)).toBeNull();
    expect(checkpointRefusal(unsigned, null)).toMatch(/no signed checkpoint/);
  });
});
