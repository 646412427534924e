import { createHash, createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import type { AuditAnchor } from "./types";

// Anchors are signed as C2SP-style checkpoints (c2sp.org/signed-note, c2sp.org/tlog-checkpoint): a note text of
// an origin line, a tree size line and a root hash line, a blank line, then signature lines
// `— <key name> base64(key ID || Ed25519 signature)`. Keys use the encodings of Go's sumdb note package:
// verifier key `<name>+<key ID hex>+base64(0x01 || public key)`, signer key `PRIVATE+KEY+<name>+<key ID hex>+
// base64(0x01 || seed)`, key ID = SHA-256(name || "\n" || 0x01 || public key)[:4].
//
// "C2SP-style", not an interoperable tlog checkpoint: the audit log is a hash chain, not an RFC 6962 tree,
// so the root hash line carries the anchor hash, which commits to the chain head at that size (headHash),
// to every earlier anchor (prevAnchorHash), to the R2 manifest and to the anchoring time. Any edit to an
// anchor row, even with its hash recomputed, no longer matches the signed note.

/** Signature type byte of Ed25519 in signed notes. */
const ED25519 = 0x01;
/** The most signature lines a checkpoint may carry (the note spec: accept at least 16). */
const MAX_SIGNATURES = 16;
/** The largest checkpoint accepted (one Ed25519 line is ~100 bytes). */
const MAX_CHECKPOINT_BYTES = 4096;
const PKCS8_ED25519_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);
const SPKI_ED25519_PREFIX = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
]);

/** A key that verifies checkpoint signatures: what an operator pins. */
export interface NoteVerifier {
  name: string;
  keyId: number;
  /** `<name>+<key ID hex>+<base64 key>`: the encoded public key. */
  verifierKey: string;
  verify(text: string, signature: Uint8Array): boolean;
}

/** The audit worker's signing key (never leaves it). */
export interface NoteSigner {
  name: string;
  keyId: number;
  verifierKey: string;
  /** The verifier of this key, so the worker checks its own anchors. */
  verifier: NoteVerifier;
  sign(text: string): Uint8Array;
}

/** A key string that is not a valid signer or verifier key. */
export class NoteKeyError extends Error {}

const encoder = new TextEncoder();

/** Standard base64 (RFC 4648 §4) of bytes. */
export function base64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Decode standard, padded base64; null unless `text` is exactly the canonical encoding of its bytes. */
export function fromBase64(text: string): Uint8Array | null {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  let raw: string;
  try {
    raw = atob(text);
  } catch {
    return null;
  }
  const bytes = Uint8Array.from(raw, (c) => c.charCodeAt(0));
  return base64(bytes) === text ? bytes : null;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A signed note holds no ASCII control character but newline. */
function hasControlBesidesNewline(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return true;
  }
  return false;
}

/** Key names (and so origins): non-empty, no whitespace, no plus, no control character. */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && /^[^\s+\p{Cc}]+$/u.test(name);
}

/** key ID = SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4], big-endian. */
export function noteKeyId(name: string, publicKey: Uint8Array): number {
  const digest = createHash("sha256")
    .update(encoder.encode(`${name}\n`))
    .update(Uint8Array.of(ED25519))
    .update(publicKey)
    .digest();
  return ((digest[0]! << 24) | (digest[1]! << 16) | (digest[2]! << 8) | digest[3]!) >>> 0;
}

function keyIdHex(id: number): string {
  return id.toString(16).padStart(8, "0");
}

/**
 * DER bytes as node:crypto's `key` option: Node and workerd take a Uint8Array, but @types/node says Buffer and
 * this package also compiles without Node's types (the worker's node:crypto shim), so it is passed untyped.
 */
function der(bytes: Uint8Array): never {
  return bytes as never;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Split `<name>+<hash>+<key>` (the name holds no plus, the base64 key may). */
function splitKey(text: string): { name: string; idHex: string; key: Uint8Array | null } | null {
  const first = text.indexOf("+");
  const second = first < 0 ? -1 : text.indexOf("+", first + 1);
  if (second < 0) return null;
  return {
    name: text.slice(0, first),
    idHex: text.slice(first + 1, second),
    key: fromBase64(text.slice(second + 1)),
  };
}

function verifierOf(name: string, publicKey: Uint8Array): NoteVerifier {
  const keyId = noteKeyId(name, publicKey);
  const key = createPublicKey({
    key: der(concat(SPKI_ED25519_PREFIX, publicKey)),
    format: "der",
    type: "spki",
  });
  return {
    name,
    keyId,
    verifierKey: `${name}+${keyIdHex(keyId)}+${base64(concat(Uint8Array.of(ED25519), publicKey))}`,
    verify: (text, signature) =>
      signature.length === 64 && verify(null, encoder.encode(text), key, signature),
  };
}

/** Parse a verifier key (`<name>+<key ID hex>+base64(0x01 || public key)`). */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const parts = splitKey(vkey.trim());
  if (!parts || !isValidKeyName(parts.name) || !/^[0-9a-f]{8}$/.test(parts.idHex) || !parts.key)
    throw new NoteKeyError("not a verifier key: expected <name>+<8 hex digits>+<base64 key>");
  if (parts.key.length !== 33 || parts.key[0] !== ED25519)
    throw new NoteKeyError("verifier key is not an Ed25519 key (type 0x01, 32 bytes)");
  const v = verifierOf(parts.name, parts.key.subarray(1));
  if (keyIdHex(v.keyId) !== parts.idHex) throw new NoteKeyError("verifier key ID does not match its key");
  return v;
}

/** Parse a signer key (`PRIVATE+KEY+<name>+<key ID hex>+base64(0x01 || seed)`); checks its key ID. */
export function parseSignerKey(skey: string): NoteSigner {
  const text = skey.trim();
  if (!text.startsWith("PRIVATE+KEY+"))
    throw new NoteKeyError("not a signer key: expected PRIVATE+KEY+<name>+<8 hex digits>+<base64 key>");
  const parts = splitKey(text.slice("PRIVATE+KEY+".length));
  if (!parts || !isValidKeyName(parts.name) || !/^[0-9a-f]{8}$/.test(parts.idHex) || !parts.key)
    throw new NoteKeyError("not a signer key: expected PRIVATE+KEY+<name>+<8 hex digits>+<base64 key>");
  if (parts.key.length !== 33 || parts.key[0] !== ED25519)
    throw new NoteKeyError("signer key is not an Ed25519 seed (type 0x01, 32 bytes)");
  const privateKey = createPrivateKey({
    key: der(concat(PKCS8_ED25519_PREFIX, parts.key.subarray(1))),
    format: "der",
    type: "pkcs8",
  });
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  const verifier = verifierOf(parts.name, new Uint8Array(spki).subarray(SPKI_ED25519_PREFIX.length));
  if (keyIdHex(verifier.keyId) !== parts.idHex)
    throw new NoteKeyError("signer key ID does not match its key");
  return {
    name: verifier.name,
    keyId: verifier.keyId,
    verifierKey: verifier.verifierKey,
    verifier,
    sign: (text) => new Uint8Array(sign(null, encoder.encode(text), privateKey)),
  };
}

/** The signed part of an anchor's checkpoint: origin, tree size (`toSeq`), root hash (the anchor hash). */
export function checkpointText(origin: string, anchor: Pick<AuditAnchor, "toSeq" | "anchorHash">): string {
  const root = Uint8Array.from(anchor.anchorHash.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
  return `${origin}\n${anchor.toSeq}\n${base64(root)}\n`;
}

/** The anchor's signed checkpoint: its text, a blank line, the signature line (origin = the key's name). */
export function signCheckpoint(
  anchor: Pick<AuditAnchor, "toSeq" | "anchorHash">,
  signer: NoteSigner,
): string {
  const text = checkpointText(signer.name, anchor);
  const id = Uint8Array.of(
    signer.keyId >>> 24,
    (signer.keyId >>> 16) & 255,
    (signer.keyId >>> 8) & 255,
    signer.keyId & 255,
  );
  return `${text}\n— ${signer.name} ${base64(concat(id, signer.sign(text)))}\n`;
}

/**
 * Why an anchor's checkpoint does not prove the row, or null when it does. The note is opened as the signed-note
 * spec says (signatures by unknown keys are ignored; one by a known key that fails rejects the note; at least one
 * known key must verify), then its text must be exactly this row's: origin = the verifying key's name, tree size
 * = `toSeq`, root hash = `anchorHash`, no extension line. With `verifiers` null, only the text is checked (an
 * export verified offline without a pinned key: nothing proves who signed it).
 */
export function checkpointRefusal(
  anchor: Pick<AuditAnchor, "toSeq" | "anchorHash"> & { checkpoint?: string | null },
  verifiers: readonly NoteVerifier[] | null,
): string | null {
  const note = anchor.checkpoint;
  if (typeof note !== "string" || note.length === 0) return "carries no signed checkpoint";
  if (note.length > MAX_CHECKPOINT_BYTES) return "checkpoint is too large";
  // Valid UTF-8 is given (a JS string from JSON or D1); no control character other than newline.
  if (hasControlBesidesNewline(note) || !note.endsWith("\n")) return "checkpoint is malformed";
  const split = note.lastIndexOf("\n\n");
  if (split < 0) return "checkpoint has no signature block";
  const text = note.slice(0, split + 1);
  const sigLines = note.slice(split + 2, -1).split("\n");
  if (sigLines.length > MAX_SIGNATURES) return "checkpoint has too many signatures";
  const signers: string[] = [];
  for (const line of sigLines) {
    const m = /^— (\S+) (\S+)$/.exec(line);
    const bytes = m ? fromBase64(m[2]!) : null;
    if (!m || !bytes || bytes.length < 5) return "checkpoint signature line is malformed";
    if (verifiers === null) {
      signers.push(m[1]!);
      continue;
    }
    const id = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
    const known = verifiers.find((v) => v.name === m[1] && v.keyId === id);
    if (!known) continue; // unknown keys are ignored (rotation, cosigners)
    if (!known.verify(text, bytes.subarray(4)))
      return `checkpoint signature by ${known.name}+${keyIdHex(id)} does not verify (the anchor row or its checkpoint was changed)`;
    signers.push(known.name);
  }
  if (signers.length === 0)
    return verifiers === null
      ? "checkpoint has no signature"
      : "checkpoint is not signed by a trusted key (pin the audit verifier key)";
  const lines = text.slice(0, -1).split("\n");
  if (lines.length !== 3) return "checkpoint text is not origin, tree size and root hash";
  const [origin, size, root] = lines as [string, string, string];
  if (!signers.includes(origin)) return `checkpoint origin ${origin} is not the name of its signing key`;
  if (size !== String(anchor.toSeq)) return `checkpoint tree size ${size} is not toSeq ${anchor.toSeq}`;
  const rootBytes = fromBase64(root);
  if (!rootBytes || hex(rootBytes) !== anchor.anchorHash)
    return "checkpoint root hash is not the anchor hash";
  return null;
}
