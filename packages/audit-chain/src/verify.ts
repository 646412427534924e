import { createHash, timingSafeEqual } from "node:crypto";
import { batchKey, hashAnchor, manifestHash } from "./anchor";
import { checkpointRefusal, type NoteVerifier } from "./checkpoint";
import { GENESIS_POINT } from "./entry";
import { parseEntryLine } from "./entry-line";
import { ANCHOR_GENESIS_HASH, DOMAIN, sha256Hex } from "./hash";
import {
  type AuditAnchor,
  type AuditMirrorBatch,
  type ChainBreak,
  type ChainPoint,
  canonicalJsonValueEnd,
} from "./types";

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Walks stored entry lines in order from a trusted point (genesis, or a verified anchor), recomputing
 * every hash and link. It keeps the hashes at `wanted` sequence numbers (anchor heads) for later checks.
 */
export class ChainVerifier {
  // The last verified position, as two fields: no object per verified line.
  private seq: number;
  private hash: string;
  readonly wantedHashes = new Map<number, string>();
  checked = 0;
  broken: ChainBreak | null = null;

  constructor(
    start: ChainPoint = GENESIS_POINT,
    private readonly wanted: ReadonlySet<number> = new Set(),
  ) {
    this.seq = start.seq;
    this.hash = start.hash;
    if (wanted.has(start.seq)) this.wantedHashes.set(start.seq, start.hash);
  }

  /** The last verified position. */
  get head(): ChainPoint {
    return { seq: this.seq, hash: this.hash };
  }

  private fail(seq: number, reason: string): ChainBreak {
    this.broken = { seq, reason };
    return this.broken;
  }

  /**
   * Check the next line; `rowSeq` is the key storage filed it under (a DO row), if any. Stops at the first
   * break. `into`, when given, gets the line's UTF-8 bytes and a newline whether or not the line verifies
   * (what an R2 copy of the walked lines must hold): the hash check's own encoding is reused, so the copy
   * is compared with one native byte comparison per batch, not line by line.
   */
  next(line: string, rowSeq?: number, withKind = false, into?: LineBytes): ChainBreak | null {
    if (!into) return this.check(line, rowSeq, withKind, undefined);
    const at = into.length;
    const broken = this.check(line, rowSeq, withKind, into);
    // The check stopped before encoding it (a line that is not text adds nothing: its copy then differs).
    if (into.length === at && typeof line === "string") into.append(line);
    return broken;
  }

  private check(
    line: string,
    rowSeq: number | undefined,
    withKind: boolean,
    into: LineBytes | undefined,
  ): ChainBreak | null {
    if (this.broken) return this.broken;
    const seq = this.seq + 1;
    // Storage could hand back a BLOB (same bytes, another storage class): that is not a stored line.
    if (typeof line !== "string") return this.fail(seq, `entry ${seq} is not stored as text`);
    if (rowSeq !== undefined && rowSeq !== seq) {
      return this.fail(
        seq,
        rowSeq > seq
          ? `entry ${seq} is missing (next stored is ${rowSeq})`
          : `entry ${rowSeq} is stored twice`,
      );
    }
    // The exact canonical layout, matched without a JSON parser: the envelope up to `"payload":` by one
    // anchored pattern, the payload proved canonical (RFC 8785) by a one-pass scan that also finds its
    // end, and the tail from there to the end of the line by a second anchored pattern. So the line is
    // JCS(parse(line)), and hashing its own bytes is hashing the documented preimage. The patterns are
    // only tested (no match arrays, no captured substrings): the fields they matched sit at fixed
    // offsets from the match ends. (Hand-written matchers were tried: 25% slower than V8's regexps.)
    const headRe = withKind ? KIND_HEAD : STORED_HEAD;
    headRe.lastIndex = 0;
    const headEnd = headRe.test(line) ? headRe.lastIndex : -1;
    const payloadEnd = headEnd > 0 ? canonicalJsonValueEnd(line, headEnd) : -1;
    let tailOk = false;
    if (payloadEnd > 0) {
      TAIL.lastIndex = payloadEnd;
      tailOk = TAIL.test(line);
    }
    if (!tailOk) {
      const entry = parseEntryLine(line, withKind); // slow path, only to say what is wrong
      return this.fail(seq, `entry ${seq} is ${typeof entry === "string" ? entry : "not in canonical form"}`);
    }
    const memberLen = withKind ? KIND_MEMBER_LEN : HASH_MEMBER_LEN;
    const headLen = headEnd - memberLen - PAYLOAD_KEY_LEN;
    // `"hash":"` + 64 hex + `",` [+ `"kind":"entry",`] + `"payload":`; then `,"prevHash":"` + 64 hex +
    // `","seq":` + digits + `,` (all as the patterns matched them).
    const hashStart = headLen + HASH_KEY_LEN;
    const prevStart = payloadEnd + PREV_KEY_LEN;
    const seqStart = prevStart + 64 + SEQ_KEY_LEN;
    let found = 0;
    let i = seqStart;
    for (let c = line.charCodeAt(i); c !== 0x2c; c = line.charCodeAt(++i)) found = found * 10 + (c - 0x30);
    // Up to 15 digits the sum above is exact; 16 digits are read as Number reads them.
    if (i - seqStart > 15) found = Number(line.slice(seqStart, i));
    if (found !== seq) {
      return this.fail(
        seq,
        found > seq
          ? `entry ${seq} is missing (found seq ${found})`
          : `entry out of order (found seq ${found})`,
      );
    }
    if (!line.startsWith(this.hash, prevStart))
      return this.fail(seq, `entry ${seq} prevHash does not link to entry ${seq - 1}`);
    if (!preimageHashIs(line, headLen, memberLen, hashStart, into))
      return this.fail(seq, `entry ${seq} hash does not match its contents`);
    const hash = line.slice(hashStart, hashStart + 64);
    this.seq = seq;
    this.hash = hash;
    this.checked++;
    if (this.wanted.has(seq)) this.wantedHashes.set(seq, hash);
    return null;
  }
}

// Canonical entry line: {"actor":{…},"hash":H,["kind":"entry",]"payload":…,"prevHash":P,"seq":N,"service":S,"ts":T,"type":Y}
// STR is a JCS string: no raw control character or lone surrogate, and only the escapes JCS writes
// (\" \\ \b \t \n \f \r, other controls as \u00xx in lower case). Sticky patterns: matched at a given index.
// H and P are any 64 code units here, the fields' fixed width keeping the layout unambiguous; they are
// proved lowercase hex by equality: H with the recomputed digest's hex, P with the previous verified hash.
// (A hex class on the two fields was a third of the patterns' cost.)
const CHAR = String.raw`[^"\\\u0000-\u001f\ud800-\udfff]`;
const STR = String.raw`"${CHAR}*(?:(?:[\ud800-\udbff][\udc00-\udfff]|\\["\\bfnrt]|\\u00(?:0[0-7bef]|1[0-9a-f]))${CHAR}*)*"`;
const ACTOR = String.raw`\{(?:"email":${STR},)?"method":"(?:token|access|system)","subject":${STR}\}`;
const STORED_HEAD = new RegExp(String.raw`\{"actor":${ACTOR},"hash":"[^]{64}","payload":`, "y");
const KIND_HEAD = new RegExp(String.raw`\{"actor":${ACTOR},"hash":"[^]{64}","kind":"entry","payload":`, "y");
const TAIL = new RegExp(
  String.raw`,"prevHash":"[^]{64}","seq":[1-9][0-9]{0,15},"service":"(?:gateway|ingestion|risk|execution|audit|governance|monitor)","ts":${STR},"type":${STR}\}$`,
  "y",
);
/** `"hash":"<64 hex>",` and, in exports, `"kind":"entry",` after it: cut from the line for the preimage. */
const HASH_MEMBER_LEN = '"hash":"",'.length + 64;
const KIND_MEMBER_LEN = HASH_MEMBER_LEN + '"kind":"entry",'.length;
const PAYLOAD_KEY_LEN = '"payload":'.length;
const HASH_KEY_LEN = '"hash":"'.length;
const PREV_KEY_LEN = ',"prevHash":"'.length;
const SEQ_KEY_LEN = '","seq":'.length;

const encoder = new TextEncoder();
/** Character codes of the lowercase hex digits, by value. */
const HEX_DIGITS = Uint8Array.from("0123456789abcdef", (c) => c.charCodeAt(0));
const PREFIX = encoder.encode(`${DOMAIN.entry}\n`);
/** Reused for every line (verification is synchronous per line): no per-entry string or buffer is built. */
let scratch = new Uint8Array(1 << 16);

/**
 * Whether SHA-256(domain, newline, line without its hash member) is `hash`. The line is encoded once into
 * a reused buffer (and, if `into` is given, those bytes and a newline appended to it), the head
 * (`{"actor":…,`) is moved up over the cut member and the domain prefix written before it, so the preimage
 * is one contiguous span hashed in one call. The digest is compared with the line's hex hash field at
 * `hashAt`, in place.
 */
function preimageHashIs(
  line: string,
  headLen: number,
  memberLen: number,
  hashAt: number,
  into: LineBytes | undefined,
): boolean {
  if (scratch.length < line.length * 3) scratch = new Uint8Array(line.length * 6);
  const { written } = encoder.encodeInto(line, scratch);
  if (into) into.appendEncoded(scratch, written);
  const headBytes = written === line.length ? headLen : utf8Length(line, headLen);
  scratch.copyWithin(memberLen, 0, headBytes);
  scratch.set(PREFIX, memberLen - PREFIX.length);
  const digest = createHash("sha256")
    .update(scratch.subarray(memberLen - PREFIX.length, written))
    .digest();
  // Exactly the digest's lowercase hex, character by character (so the field is proved hex too).
  for (let i = 0, at = hashAt; i < 32; i++, at += 2) {
    const d = digest[i]!;
    if (line.charCodeAt(at) !== HEX_DIGITS[d >> 4] || line.charCodeAt(at + 1) !== HEX_DIGITS[d & 15])
      return false;
  }
  return true;
}

/** UTF-8 length of `s.slice(0, end)` (well formed, as the layout check proved). */
function utf8Length(s: string, end: number): number {
  let n = 0;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdfff ? 2 : 3;
  }
  return n;
}

/** UTF-8 bytes of lines, each followed by a newline: what an R2 copy of those lines holds. Grows as needed. */
export class LineBytes {
  private buf = new Uint8Array(1 << 16);
  length = 0;

  /** The bytes so far (a view, valid until the next append or clear). */
  get bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  clear(): void {
    this.length = 0;
  }

  append(line: string): void {
    this.room(line.length * 3 + 1);
    this.length += encoder.encodeInto(line, this.buf.subarray(this.length)).written;
    this.buf[this.length++] = 0x0a;
  }

  /** Append `n` bytes already encoded at the start of `src`, and a newline. */
  appendEncoded(src: Uint8Array, n: number): void {
    this.room(n + 1);
    this.buf.set(src.subarray(0, n), this.length);
    this.length += n;
    this.buf[this.length++] = 0x0a;
  }

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
  }
}

/** What anchor verification needs to know about the chain. */
export interface AnchorContext {
  /** Highest sequence number present (after the entry walk). */
  headSeq: number;
  /** Verified hash at a sequence number, if known (from ChainVerifier.wantedHashes). */
  hashAt(seq: number): string | undefined;
  /** The mirror batches, in order; anchor N's manifest is the batches ending at or before its toSeq. */
  batches: readonly AuditMirrorBatch[];
  /** Anchors before this one were verified earlier (incremental mode): start the chain at it. */
  trusted?: AuditAnchor | null;
  /**
   * The audit verifier keys: every anchor must carry a checkpoint signed by one of them that states exactly its
   * row. `null`: the checkpoint must be there and state the row, but no key is pinned to check the signature
   * (an export verified offline without one). Absent: checkpoints are not looked at.
   */
  verifiers?: readonly NoteVerifier[] | null;
}

/**
 * Verify anchor rows in order: contiguous numbers, each row's own hash and signed checkpoint, the link to the previous anchor
 * (a fork otherwise), toSeq never backwards, head not below any anchored toSeq (truncation or rollback),
 * toSeq at a mirror batch end, each anchored head hash against the chain, and the R2 manifest hash.
 */
export function verifyAnchors(anchors: readonly AuditAnchor[], ctx: AnchorContext): ChainBreak | null {
  let prev: AuditAnchor | null = ctx.trusted ?? null;
  for (const a of anchors) {
    const at = (reason: string, seq = a.toSeq): ChainBreak => ({ seq, reason, anchorNo: a.anchorNo });
    const expectedNo = (prev?.anchorNo ?? 0) + 1;
    if (a.anchorNo !== expectedNo) {
      return at(
        a.anchorNo === prev?.anchorNo
          ? `anchor ${a.anchorNo} appears twice (fork)`
          : `anchor ${expectedNo} is missing (found ${a.anchorNo})`,
      );
    }
    if (hashAnchor(a) !== a.anchorHash) return at(`anchor ${a.anchorNo} row was edited (hash mismatch)`);
    // A row rewritten with its hash recomputed still hashes: only the signature tells.
    if (ctx.verifiers !== undefined) {
      const refusal = checkpointRefusal(a, ctx.verifiers);
      if (refusal) return at(`anchor ${a.anchorNo} ${refusal}`);
    }
    if (a.prevAnchorHash !== (prev?.anchorHash ?? ANCHOR_GENESIS_HASH)) {
      return at(`anchor ${a.anchorNo} does not link to anchor ${expectedNo - 1} (fork)`);
    }
    if (prev && a.toSeq < prev.toSeq) return at(`anchor ${a.anchorNo} toSeq goes backwards`);
    if (a.toSeq > ctx.headSeq) {
      return at(
        `chain truncated or rolled back: head ${ctx.headSeq} is below anchor ${a.anchorNo} toSeq ${a.toSeq}`,
        ctx.headSeq + 1,
      );
    }
    // The sequencer anchors only what is mirrored, so an anchor ends where a mirror batch ends (the
    // verifier keeps the chain's hashes there and nowhere else).
    if (a.toSeq !== 0 && !ctx.batches.some((b) => b.toSeq === a.toSeq))
      return at(`anchor ${a.anchorNo} toSeq ${a.toSeq} is not the end of a mirror batch`);
    const hash = a.toSeq === 0 ? GENESIS_POINT.hash : ctx.hashAt(a.toSeq);
    if (hash === undefined) return at(`anchor ${a.anchorNo} head entry ${a.toSeq} was not verified`);
    if (hash !== a.headHash) return at(`anchor ${a.anchorNo} headHash does not match entry ${a.toSeq}`);
    const covered = ctx.batches.filter((b) => b.toSeq <= a.toSeq);
    if (manifestHash(covered) !== a.r2ManifestHash) {
      return at(`anchor ${a.anchorNo} R2 manifest hash does not match the mirror batches`);
    }
    prev = a;
  }
  return null;
}

/** Check batch descriptors are contiguous from 1 and correctly named. */
export function verifyBatchList(batches: readonly AuditMirrorBatch[], startSeq = 1): ChainBreak | null {
  let next = startSeq;
  for (const b of batches) {
    if (b.fromSeq !== next) return { seq: next, reason: `mirror batch ${b.key} does not start at ${next}` };
    if (b.toSeq < b.fromSeq) return { seq: b.fromSeq, reason: `mirror batch ${b.key} has an empty range` };
    if (b.key !== batchKey(b.fromSeq, b.toSeq))
      return { seq: b.fromSeq, reason: `mirror batch key ${b.key} is wrong` };
    if (!HEX64.test(b.sha256)) return { seq: b.fromSeq, reason: `mirror batch ${b.key} sha256 malformed` };
    next = b.toSeq + 1;
  }
  return null;
}

/**
 * Compare one R2 copy with the bytes it must hold (`expected`: the batch's lines as read from the chain,
 * each followed by a newline). Names the entry whose bytes first differ, a missing tail, trailing bytes, or
 * a SHA-256 that does not match the recorded one.
 */
export function verifyBatchCopy(
  batch: AuditMirrorBatch,
  bytes: Uint8Array | null,
  expected: Uint8Array,
  /** The SHA-256 R2 recorded for the object (it checks uploads against it); saves rehashing. */
  storedSha256?: string,
): ChainBreak | null {
  if (bytes === null) return { seq: batch.fromSeq, reason: `R2 copy ${batch.key} is missing` };
  // Fast path: one native comparison of the whole object (constant time is not needed, native speed is).
  if (bytes.length !== expected.length || !timingSafeEqual(bytes, expected)) {
    // Slow path, only to locate the first differing byte.
    const n = Math.min(expected.length, bytes.length);
    let seq = batch.fromSeq;
    for (let i = 0; i < n; i++) {
      if (expected[i] !== bytes[i]) return { seq, reason: `R2 copy of entry ${seq} differs (${batch.key})` };
      if (expected[i] === 0x0a) seq++;
    }
    if (bytes.length < expected.length)
      return { seq, reason: `R2 copy ${batch.key} is truncated at entry ${seq}` };
    // The copy goes on past the rows: the first entry it holds that the chain no longer does.
    if (seq <= batch.toSeq)
      return { seq, reason: `entry ${seq} of R2 copy ${batch.key} is not in the chain` };
    return { seq: batch.toSeq, reason: `R2 copy ${batch.key} has trailing bytes` };
  }
  // The bytes are exactly the verified lines; their digest must be the one recorded in the manifest.
  const actual = storedSha256 ?? sha256Hex(bytes);
  if (actual !== batch.sha256) {
    return { seq: batch.fromSeq, reason: `R2 copy ${batch.key} SHA-256 differs from the recorded one` };
  }
  return null;
}

/** The break with the lowest seq (ties: the first given), or null. */
export function firstBreak(...breaks: (ChainBreak | null | undefined)[]): ChainBreak | null {
  let best: ChainBreak | null = null;
  for (const b of breaks) if (b && (best === null || b.seq < best.seq)) best = b;
  return best;
}
