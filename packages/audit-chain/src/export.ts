import * as v from "valibot";
import { batchBytes } from "./anchor";
import type { NoteVerifier } from "./checkpoint";
import { ANCHOR_GENESIS_HASH, GENESIS_HASH, sha256Hex } from "./hash";
import { type AuditAnchor, type AuditMirrorBatch, type ChainBreak, canonicalJson } from "./types";
import { ChainVerifier, firstBreak, verifyAnchors, verifyBatchList } from "./verify";

/**
 * The export format's name, in its first line. v2: a closing `end` line says what the export holds. v3: every
 * anchor line carries its signed checkpoint.
 */
export const EXPORT_FORMAT = "paulp-audit-export/v3";

/** First line of an export: the format and the genesis constants it was written against. */
export function exportHeaderLine(): string {
  return canonicalJson({
    kind: "header",
    format: EXPORT_FORMAT,
    genesisHash: GENESIS_HASH,
    anchorGenesisHash: ANCHOR_GENESIS_HASH,
  });
}

/** An export line for a stored entry line (`{"kind":"entry", ...entry}`, canonical). */
export function exportEntryLine(storedLine: string): string {
  return canonicalJson({ kind: "entry", ...(JSON.parse(storedLine) as object) });
}

/** An export line for a mirror batch descriptor. */
export function exportBatchLine(b: AuditMirrorBatch): string {
  return canonicalJson({ kind: "batch", key: b.key, fromSeq: b.fromSeq, toSeq: b.toSeq, sha256: b.sha256 });
}

/** An export line for an anchor row, with its signed checkpoint (null on a row written before signing). */
export function exportAnchorLine(a: AuditAnchor): string {
  const { anchorNo, toSeq, headHash, prevAnchorHash, anchoredAt, r2ManifestHash, anchorHash } = a;
  return canonicalJson({
    kind: "anchor",
    anchorNo,
    toSeq,
    headHash,
    prevAnchorHash,
    anchoredAt,
    r2ManifestHash,
    anchorHash,
    checkpoint: a.checkpoint ?? null,
  });
}

/** What a complete export holds, in its last line: a file cut off anywhere before it fails verification. */
export interface ExportEnd {
  entries: number;
  headSeq: number;
  headHash: string;
  batches: number;
  anchors: number;
}

/** The last line of an export. */
export function exportEndLine(end: ExportEnd): string {
  return canonicalJson({ kind: "end", ...end });
}

/** The outcome of verifying an export file. */
export interface ExportReport {
  ok: boolean;
  entries: number;
  batches: number;
  anchors: number;
  head: { seq: number; hash: string };
  lastAnchor: AuditAnchor | null;
  /** Every anchor's hash, in order (to match against an independently read D1 row). */
  anchorHashes: string[];
  /** True when every anchor's checkpoint signature was verified with a pinned key; false: not checked. */
  signaturesChecked: boolean;
  broken: ChainBreak | null;
}

/** How to verify an export. */
export interface ExportOptions {
  /** The pinned audit verifier keys: every anchor's checkpoint must verify with one. Without: not checked. */
  verifiers?: readonly NoteVerifier[];
}

const ANCHOR_KEYS =
  "anchorHash,anchorNo,anchoredAt,checkpoint,headHash,kind,prevAnchorHash,r2ManifestHash,toSeq";
const BATCH_KEYS = "fromSeq,key,kind,sha256,toSeq";
const END_KEYS = "anchors,batches,entries,headHash,headSeq,kind";
const HEX64 = /^[0-9a-f]{64}$/;
const count = (min: number) => v.pipe(v.number(), v.safeInteger(), v.minValue(min));
const hex64 = v.pipe(v.string(), v.regex(HEX64));
/** The type of every field of each record kind: a record that parses but holds the wrong types is malformed. */
const BatchRecord = v.object({ key: v.string(), fromSeq: count(1), toSeq: count(1), sha256: hex64 });
const AnchorRecord = v.object({
  anchorNo: count(1),
  toSeq: count(0),
  headHash: hex64,
  prevAnchorHash: hex64,
  anchoredAt: v.string(),
  r2ManifestHash: hex64,
  anchorHash: hex64,
  checkpoint: v.nullable(v.string()),
});
const EndRecord = v.object({
  entries: count(0),
  headSeq: count(0),
  headHash: hex64,
  batches: count(0),
  anchors: count(0),
});
const UTF8_BOM = "\uFEFF";

/**
 * Verify an export with nothing but its bytes (and, to check the anchors' signatures, the pinned verifier key):
 * every entry's hash and link from genesis, sequence continuity, each mirror batch's SHA-256 recomputed from the
 * entries, and every anchor (row hash, signed checkpoint, link, head hash, manifest, no truncation below it).
 * Sections must come in order: header, entries, batches, anchors, and the end line, which must agree with all
 * of them. Whatever is refused names the line and the first seq it concerns.
 */
export function verifyExport(input: string | Uint8Array, options: ExportOptions = {}): ExportReport {
  const walk = new ExportWalk(options.verifiers ?? null);
  let content: string;
  if (typeof input === "string") content = input;
  else {
    if (input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf) return walk.report(bomBreak());
    try {
      // ignoreBOM: a byte-order mark is kept (and refused above), never silently stripped.
      content = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(input);
    } catch {
      return walk.report(walkInvalidUtf8(input, walk));
    }
  }
  if (content.startsWith(UTF8_BOM)) return walk.report(bomBreak());
  // A file cut mid-line: the complete lines are verified first, then the cut one is named.
  const whole = content.endsWith("\n");
  const lines = (whole ? content.slice(0, -1) : content).split("\n");
  const complete = whole ? lines.length : lines.length - 1;
  for (let i = 0; i < complete; i++) {
    const broken = walk.line(lines[i]!, i + 1, i === complete - 1 && whole);
    if (broken) return walk.report(broken);
  }
  if (!whole) {
    const lineNo = complete + 1;
    return walk.report({
      seq: walk.seqOf(lines[complete]!),
      line: lineNo,
      reason: `line ${lineNo} is cut off: the file does not end with a newline (truncated file?)`,
    });
  }
  return walk.finish();
}

function bomBreak(): ChainBreak {
  return {
    seq: 1,
    line: 1,
    reason:
      "the file starts with a byte-order mark (U+FEFF): not the export as written (re-saved by an editor?)",
  };
}

/** Verify the lines before the first one that is not valid UTF-8, then name that line. */
function walkInvalidUtf8(bytes: Uint8Array, walk: ExportWalk): ChainBreak {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let start = 0;
  for (let lineNo = 1; start <= bytes.length; lineNo++) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    const raw = bytes.subarray(start, end);
    let line: string;
    try {
      line = decoder.decode(raw);
    } catch {
      // Latin-1 keeps every byte as one character: enough to read which record the line is.
      const sniffed = Array.from(raw, (b) => String.fromCharCode(b)).join("");
      return {
        seq: walk.seqOf(sniffed),
        line: lineNo,
        reason: `line ${lineNo} is not valid UTF-8`,
      };
    }
    const broken = walk.line(line, lineNo, false);
    if (broken) return broken;
    start = end + 1;
  }
  // Not reached: the whole file failed to decode, so one line does.
  return { seq: walk.seqOf(""), reason: "export is not valid UTF-8" };
}

/** The state of one export walked line by line. */
class ExportWalk {
  readonly chain = new ChainVerifier();
  readonly batches: AuditMirrorBatch[] = [];
  readonly anchors: AuditAnchor[] = [];
  private readonly storedLines: string[] = [""];
  private section: "header" | "entry" | "batch" | "anchor" | "end" = "header";
  private end: { record: ExportEnd; line: number } | null = null;

  constructor(private readonly verifiers: readonly NoteVerifier[] | null) {}

  report(broken: ChainBreak | null): ExportReport {
    return {
      ok: broken === null,
      entries: this.chain.checked,
      batches: this.batches.length,
      anchors: this.anchors.length,
      head: this.chain.head,
      lastAnchor: this.anchors.at(-1) ?? null,
      anchorHashes: this.anchors.map((a) => a.anchorHash),
      signaturesChecked: broken === null && this.verifiers !== null,
      broken,
    };
  }

  /**
   * The first seq a line concerns, read from what it says (also when it is cut off or not UTF-8): a line of the
   * entry section the next seq; a batch its `fromSeq`, an anchor its `toSeq`, the end line the head, each at most
   * the verified head (never a seq past the end); a record whose seq cannot be read, the head.
   */
  seqOf(line: string): number {
    const head = this.chain.head.seq;
    const record = /"kind":"(batch|anchor|end)"|"(fromSeq|anchorNo|headSeq)":/.test(line);
    if (this.section === "entry" && !record) return head + 1;
    const field = /"fromSeq":/.test(line) ? "fromSeq" : /"anchorNo":/.test(line) ? "toSeq" : null;
    const found = field ? new RegExp(`"${field}":(\\d{1,15})[,}]`).exec(line)?.[1] : undefined;
    const last = Math.max(1, head);
    return found !== undefined ? Math.max(1, Math.min(Number(found), last)) : last;
  }

  /** Check one line (1-based `lineNo`); `last` is the last line of the file (where the end line belongs). */
  line(line: string, lineNo: number, last: boolean): ChainBreak | null {
    const at = (reason: string, seq = this.seqOf(line)): ChainBreak => ({ seq, line: lineNo, reason });
    if (this.section === "header") {
      this.section = "entry";
      return line === exportHeaderLine()
        ? null
        : at("header line is missing, altered or of another format", 1);
    }
    if (this.section === "end") return at("line after the end line");
    const kind = /^\{.*?"kind":"(entry|batch|anchor|end)"/.exec(line)?.[1];
    if (this.section === "entry" && (kind === "entry" || kind === undefined)) {
      const broken = this.chain.next(line, undefined, true);
      if (broken) return { ...broken, line: lineNo };
      this.storedLines.push(line.replace('"kind":"entry",', ""));
      return null;
    }
    if (kind === "end" && last) {
      this.section = "end";
      const end = parseRecord(line, END_KEYS, EndRecord);
      if (typeof end === "string") return at(`end line is malformed: ${end}`);
      this.end = { record: end, line: lineNo };
      return null;
    }
    if (kind === "batch" && (this.section === "entry" || this.section === "batch")) {
      this.section = "batch";
      const b = parseRecord(line, BATCH_KEYS, BatchRecord);
      if (typeof b === "string") return at(`batch line is malformed: ${b}`);
      this.batches.push(b);
      return null;
    }
    if (kind === "anchor") {
      this.section = "anchor";
      const a = parseRecord(line, ANCHOR_KEYS, AnchorRecord);
      if (typeof a === "string") return at(`anchor line is malformed: ${a}`);
      const { checkpoint, ...row } = a;
      this.anchors.push(checkpoint === null ? row : { ...row, checkpoint });
      return null;
    }
    return at(kind === "end" ? "end line is not the last line" : "line is malformed or out of section order");
  }

  /** After the last line: the end line must be there and agree; then batches and anchors. */
  finish(): ExportReport {
    const chain = this.chain;
    const head = chain.head;
    // The end line must be there and agree with what was read: an export cut off (even at a line boundary) or
    // with lines removed is refused, naming the first entry it may be missing.
    if (!this.end)
      return this.report({
        seq: head.seq + 1,
        reason: "export has no end line: it was cut off (incomplete file)",
      });
    const { record: end, line } = this.end;
    if (end.headSeq > head.seq)
      return this.report({
        seq: head.seq + 1,
        line,
        reason: `export is missing entries ${head.seq + 1}..${end.headSeq}: its end line says the head is ${end.headSeq} (cut off, removed, or the chain was truncated below its head)`,
      });
    if (
      end.entries !== chain.checked ||
      end.headSeq !== head.seq ||
      end.headHash !== head.hash ||
      end.batches !== this.batches.length ||
      end.anchors !== this.anchors.length
    )
      return this.report({
        seq: Math.min(end.headSeq, head.seq) + 1,
        line,
        reason: `export holds ${chain.checked} entries, ${this.batches.length} batches, ${this.anchors.length} anchors; its end line says ${end.entries}, ${end.batches}, ${end.anchors} (head ${end.headSeq})`,
      });
    // Batches: contiguous ranges whose bytes, rebuilt from the verified entries, have the recorded SHA-256.
    const listBreak = verifyBatchList(this.batches);
    let batchBreak: ChainBreak | null = listBreak;
    for (const b of listBreak ? [] : this.batches) {
      if (b.toSeq > head.seq) {
        batchBreak = {
          seq: head.seq + 1,
          reason: `mirror batch ${b.key} covers entries missing from the export`,
        };
        break;
      }
      if (sha256Hex(batchBytes(this.storedLines.slice(b.fromSeq, b.toSeq + 1))) !== b.sha256) {
        batchBreak = { seq: b.fromSeq, reason: `mirror batch ${b.key} SHA-256 does not match its entries` };
        break;
      }
    }
    const hashes = new Map<number, string>();
    // Hash at each anchored seq, from the verified chain (the entry line's own `hash` field, now trusted).
    for (const a of this.anchors) {
      const stored = this.storedLines[a.toSeq];
      if (stored !== undefined && a.toSeq > 0)
        hashes.set(a.toSeq, (JSON.parse(stored) as { hash: string }).hash);
    }
    const anchorBreak = verifyAnchors(this.anchors, {
      headSeq: head.seq,
      hashAt: (seq) => hashes.get(seq),
      batches: this.batches,
      verifiers: this.verifiers,
    });
    return this.report(firstBreak(anchorBreak, batchBreak));
  }
}

/** A canonical record line with exactly `keys`, each field of its type (the schema); a string says what is wrong. */
function parseRecord<S extends v.GenericSchema<unknown, Record<string, unknown>>>(
  line: string,
  keys: string,
  schema: S,
): v.InferOutput<S> | string {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return "not JSON";
  }
  if (typeof value !== "object" || value === null || Object.keys(value).join(",") !== keys)
    return `fields are not ${keys}`;
  if (canonicalJson(value) !== line) return "not in canonical form";
  const parsed = v.safeParse(schema, value, { abortEarly: true });
  if (parsed.success) return parsed.output;
  const field = String(parsed.issues[0].path?.[0]?.key ?? "record");
  return `${field} is ${JSON.stringify(value[field])}, not of its type`;
}
