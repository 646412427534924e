import { batchKey, hashAnchor, manifestHash } from "./anchor";
import { GENESIS_POINT } from "./entry";
import { ANCHOR_GENESIS_HASH, DOMAIN, sha256Hex } from "./hash";
import type { AuditAnchor, AuditEntry, AuditMirrorBatch, ChainBreak, ChainPoint } from "./types";

const HEX64 = /^[0-9a-f]{64}$/;
const SERVICES = new Set(["gateway", "ingestion", "risk", "execution", "audit", "governance"]);
const METHODS = new Set(["token", "access", "system"]);

const ACTOR_KEYS = new Set(["email", "method", "subject"]);

/**
 * Parse a stored line into an entry, or say why it is not one. `withKind` lines (exports) also carry
 * `"kind":"entry"`. Only the shape is checked here; the hash check over the line's own bytes does the rest.
 */
export function parseEntryLine(line: string, withKind = false): AuditEntry | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return "not valid JSON";
  }
  const o = value as Record<string, unknown>;
  if (typeof o !== "object" || o === null || Array.isArray(o)) return "not an object";
  const expectedKeys = [
    "actor",
    "hash",
    ...(withKind ? ["kind"] : []),
    "payload",
    "prevHash",
    "seq",
    "service",
    "ts",
    "type",
  ];
  if (Object.keys(o).join(",") !== expectedKeys.join(",")) return "not in canonical form (fields)";
  if (withKind && o.kind !== "entry") return "not an entry line";
  if (!Number.isSafeInteger(o.seq) || (o.seq as number) < 1) return "seq is not a positive integer";
  if (typeof o.ts !== "string" || typeof o.type !== "string") return "ts/type malformed";
  if (typeof o.service !== "string" || !SERVICES.has(o.service)) return "service malformed";
  const actor = o.actor as Record<string, unknown> | null;
  if (
    typeof actor !== "object" ||
    actor === null ||
    !Object.keys(actor).every((k) => ACTOR_KEYS.has(k)) ||
    !METHODS.has(actor.method as string) ||
    typeof actor.subject !== "string"
  )
    return "actor malformed";
  if (typeof o.prevHash !== "string" || !HEX64.test(o.prevHash)) return "prevHash malformed";
  if (typeof o.hash !== "string" || !HEX64.test(o.hash)) return "hash malformed";
  const { kind: _kind, ...entry } = o;
  return entry as unknown as AuditEntry;
}

/**
 * The hash preimage of a stored line, cut from the line's own bytes: in canonical JSON the top-level
 * `"hash"` member (and an export's `"kind"`) sit between `actor` and `payload`, so removing them leaves
 * exactly the canonical JSON of the other fields. Any changed byte therefore changes the recomputed hash
 * (or the hash field itself), and no re-serialisation is needed. Null when the members are not there.
 */
export function linePreimage(line: string, hash: string, withKind = false): string | null {
  const member = withKind ? `"hash":"${hash}","kind":"entry",` : `"hash":"${hash}",`;
  const at = line.indexOf(`},${member}"payload":`);
  if (at < 0) return null;
  return `${DOMAIN.entry}\n${line.slice(0, at + 2)}${line.slice(at + 2 + member.length)}`;
}

/**
 * Walks stored entry lines in order from a trusted point (genesis, or a verified anchor), recomputing
 * every hash and link. It keeps the hashes at `wanted` sequence numbers (anchor heads) for later checks.
 */
export class ChainVerifier {
  private point: ChainPoint;
  readonly wantedHashes = new Map<number, string>();
  checked = 0;
  broken: ChainBreak | null = null;

  constructor(
    start: ChainPoint = GENESIS_POINT,
    private readonly wanted: ReadonlySet<number> = new Set(),
  ) {
    this.point = start;
    if (wanted.has(start.seq)) this.wantedHashes.set(start.seq, start.hash);
  }

  /** The last verified position. */
  get head(): ChainPoint {
    return this.point;
  }

  /** Check the next line; `rowSeq` is the key storage filed it under (a DO row), if any. Stops at the first break. */
  next(line: string, rowSeq?: number, withKind = false): ChainBreak | null {
    if (this.broken) return this.broken;
    const seq = this.point.seq + 1;
    const fail = (reason: string): ChainBreak => {
      this.broken = { seq, reason };
      return this.broken;
    };
    if (rowSeq !== undefined && rowSeq !== seq) {
      return fail(
        rowSeq > seq
          ? `entry ${seq} is missing (next stored is ${rowSeq})`
          : `entry ${rowSeq} is stored twice`,
      );
    }
    // The exact canonical layout, matched without a JSON parser: the hash below covers every other byte.
    const m = (withKind ? KIND_LINE : STORED_LINE).exec(line);
    if (!m) {
      const entry = parseEntryLine(line, withKind); // slow path, only to say what is wrong
      return fail(`entry ${seq} is ${typeof entry === "string" ? entry : "not in canonical form"}`);
    }
    const [, head, hash, rest, prevHash, seqText] = m as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const found = Number(seqText);
    if (found !== seq) {
      return fail(
        found > seq
          ? `entry ${seq} is missing (found seq ${found})`
          : `entry out of order (found seq ${found})`,
      );
    }
    if (prevHash !== this.point.hash) return fail(`entry ${seq} prevHash does not link to entry ${seq - 1}`);
    if (sha256Hex(`${DOMAIN.entry}\n${head}${rest}`) !== hash)
      return fail(`entry ${seq} hash does not match its contents`);
    this.point = { seq, hash };
    this.checked++;
    if (this.wanted.has(seq)) this.wantedHashes.set(seq, hash);
    return null;
  }
}

// Canonical entry line: {"actor":{…},"hash":H,["kind":"entry",]"payload":…,"prevHash":P,"seq":N,"service":S,"ts":T,"type":Y}
// Groups: 1 = text before the hash member, 2 = hash, 3 = text after it (the rest of the preimage), 4 = prevHash, 5 = seq.
const STR = String.raw`"(?:[^"\\\u0000-\u001f]|\\.)*"`;
const ACTOR = String.raw`\{(?:"email":${STR},)?"method":"(?:token|access|system)","subject":${STR}\}`;
const TAIL = String.raw`"prevHash":"([0-9a-f]{64})","seq":([1-9][0-9]{0,15}),"service":"(?:gateway|ingestion|risk|execution|audit|governance)","ts":${STR},"type":${STR}\}$`;
const STORED_LINE = new RegExp(
  String.raw`^(\{"actor":${ACTOR},)"hash":"([0-9a-f]{64})",("payload":.*,${TAIL})`,
  "s",
);
const KIND_LINE = new RegExp(
  String.raw`^(\{"actor":${ACTOR},)"hash":"([0-9a-f]{64})","kind":"entry",("payload":.*,${TAIL})`,
  "s",
);

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
}

/**
 * Verify anchor rows in order: contiguous numbers, each row's own hash, the link to the previous anchor
 * (a fork otherwise), toSeq never backwards, head not below any anchored toSeq (truncation or rollback),
 * each anchored head hash against the chain, and the R2 manifest hash.
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
 * Compare one R2 copy with the lines it must hold. Names the entry whose bytes first differ, a missing
 * tail, or a SHA-256 that does not match the recorded one.
 */
export function verifyBatchCopy(
  batch: AuditMirrorBatch,
  bytes: Uint8Array | null,
  expectedLine: (seq: number) => string | undefined,
  /** The SHA-256 R2 recorded for the object (it checks uploads against it); saves rehashing. */
  storedSha256?: string,
): ChainBreak | null {
  if (bytes === null) return { seq: batch.fromSeq, reason: `R2 copy ${batch.key} is missing` };
  const lines: string[] = [];
  for (let seq = batch.fromSeq; seq <= batch.toSeq; seq++) {
    const line = expectedLine(seq);
    if (line === undefined)
      return { seq, reason: `entry ${seq} of R2 copy ${batch.key} is not in the chain` };
    lines.push(`${line}\n`);
  }
  const expectedText = lines.join("");
  // Fast path: native decode and string compare; the byte walk below only runs to locate a difference.
  if (decodeOrNull(bytes) !== expectedText) {
    const expected = encoder.encode(expectedText);
    const n = Math.min(expected.length, bytes.length);
    let seq = batch.fromSeq;
    for (let i = 0; i < n; i++) {
      if (expected[i] !== bytes[i]) return { seq, reason: `R2 copy of entry ${seq} differs (${batch.key})` };
      if (expected[i] === 0x0a) seq++;
    }
    if (bytes.length < expected.length)
      return { seq, reason: `R2 copy ${batch.key} is truncated at entry ${seq}` };
    return { seq: batch.toSeq, reason: `R2 copy ${batch.key} has trailing bytes` };
  }
  // The bytes are exactly the verified lines; their digest must be the one recorded in the manifest.
  const actual = storedSha256 ?? sha256Hex(bytes);
  if (actual !== batch.sha256) {
    return { seq: batch.fromSeq, reason: `R2 copy ${batch.key} SHA-256 differs from the recorded one` };
  }
  return null;
}

// Fatal decoding: valid UTF-8 and strings map one to one, so equal strings mean equal bytes.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

function decodeOrNull(bytes: Uint8Array): string | null {
  try {
    return decoder.decode(bytes);
  } catch {
    return null;
  }
}

/** The break with the lowest seq (ties: the first given), or null. */
export function firstBreak(...breaks: (ChainBreak | null | undefined)[]): ChainBreak | null {
  let best: ChainBreak | null = null;
  for (const b of breaks) if (b && (best === null || b.seq < best.seq)) best = b;
  return best;
}
