import { batchBytes } from "./anchor";
import { ANCHOR_GENESIS_HASH, GENESIS_HASH, sha256Hex } from "./hash";
import { type AuditAnchor, type AuditMirrorBatch, type ChainBreak, canonicalJson } from "./types";
import { ChainVerifier, firstBreak, verifyAnchors, verifyBatchList } from "./verify";

/** The export format's name, in its first line. v2: a closing `end` line says what the export holds. */
export const EXPORT_FORMAT = "paulp-audit-export/v2";

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

/** An export line for an anchor row. */
export function exportAnchorLine(a: AuditAnchor): string {
  return canonicalJson({ kind: "anchor", ...a });
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
  broken: ChainBreak | null;
}

const ANCHOR_KEYS = "anchorHash,anchorNo,anchoredAt,headHash,kind,prevAnchorHash,r2ManifestHash,toSeq";
const BATCH_KEYS = "fromSeq,key,kind,sha256,toSeq";
const END_KEYS = "anchors,batches,entries,headHash,headSeq,kind";

/**
 * Verify an export with nothing but its bytes: every entry's hash and link from genesis, sequence
 * continuity, each mirror batch's SHA-256 recomputed from the entries, and every anchor (row hash, link,
 * head hash, manifest, no truncation below it). Sections must come in order: header, entries, batches, anchors,
 * and the end line, which must agree with all of them.
 */
export function verifyExport(input: string | Uint8Array): ExportReport {
  let text: string;
  const report = (broken: ChainBreak | null, extra: Partial<ExportReport> = {}): ExportReport => ({
    ok: broken === null,
    entries: chain.checked,
    batches: batches.length,
    anchors: anchors.length,
    head: chain.head,
    lastAnchor: anchors.at(-1) ?? null,
    anchorHashes: anchors.map((a) => a.anchorHash),
    broken,
    ...extra,
  });
  const chain = new ChainVerifier();
  const batches: AuditMirrorBatch[] = [];
  const anchors: AuditAnchor[] = [];
  const storedLines: string[] = [""];
  try {
    text =
      typeof input === "string"
        ? input
        : new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(input);
  } catch {
    // Invalid UTF-8: find the line holding the first bad byte and name what it should have been.
    return report(locateInvalidUtf8(input as Uint8Array, chain));
  }
  if (!text.endsWith("\n"))
    return report({ seq: 1, reason: "export does not end with a newline (truncated file?)" });
  const lines = text.slice(0, -1).split("\n");
  if (lines[0] !== exportHeaderLine())
    return report({ seq: 1, line: 1, reason: "header line is missing or altered" });
  let section: "entry" | "batch" | "anchor" = "entry";
  let end: ExportEnd | null = null;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const lineNo = i + 1;
    const kind = /^\{.*?"kind":"(entry|batch|anchor|end)"/.exec(line)?.[1];
    if (kind === "end" && i === lines.length - 1) {
      end = parseRecord(line, END_KEYS) as ExportEnd | null;
      if (!end) return report({ seq: chain.head.seq + 1, line: lineNo, reason: "end line is malformed" });
      continue;
    }
    if (section === "entry" && (kind === "entry" || kind === undefined)) {
      const broken = chain.next(line, undefined, true);
      if (broken) return report({ ...broken, line: lineNo });
      storedLines.push(line.replace('"kind":"entry",', ""));
      continue;
    }
    const seqNow = chain.head.seq;
    if (kind === "batch" && section !== "anchor") {
      section = "batch";
      const b = parseRecord(line, BATCH_KEYS) as AuditMirrorBatch | null;
      if (!b) return report({ seq: seqNow + 1, line: lineNo, reason: "batch line is malformed" });
      batches.push(b);
      continue;
    }
    if (kind === "anchor") {
      section = "anchor";
      const a = parseRecord(line, ANCHOR_KEYS) as AuditAnchor | null;
      if (!a) return report({ seq: seqNow + 1, line: lineNo, reason: "anchor line is malformed" });
      anchors.push(a);
      continue;
    }
    return report({ seq: seqNow + 1, line: lineNo, reason: "line is malformed or out of section order" });
  }
  // The end line must be there and agree with what was read: an export cut off (even at a line boundary) or
  // with lines removed is refused, naming the first entry it may be missing.
  if (!end)
    return report({
      seq: chain.head.seq + 1,
      reason: "export has no end line: it was cut off (incomplete file)",
    });
  if (end.headSeq > chain.head.seq)
    return report({
      seq: chain.head.seq + 1,
      reason: `export is missing entries ${chain.head.seq + 1}..${end.headSeq}: its end line says the head is ${end.headSeq} (cut off, removed, or the chain was truncated below its head)`,
    });
  if (
    end.entries !== chain.checked ||
    end.headSeq !== chain.head.seq ||
    end.headHash !== chain.head.hash ||
    end.batches !== batches.length ||
    end.anchors !== anchors.length
  )
    return report({
      seq: Math.min(end.headSeq, chain.head.seq) + 1,
      reason: `export holds ${chain.checked} entries, ${batches.length} batches, ${anchors.length} anchors; its end line says ${end.entries}, ${end.batches}, ${end.anchors} (head ${end.headSeq})`,
    });
  // Batches: contiguous ranges whose bytes, rebuilt from the verified entries, have the recorded SHA-256.
  const listBreak = verifyBatchList(batches);
  let batchBreak: ChainBreak | null = listBreak;
  for (const b of listBreak ? [] : batches) {
    if (b.toSeq > chain.head.seq) {
      batchBreak = {
        seq: chain.head.seq + 1,
        reason: `mirror batch ${b.key} covers entries missing from the export`,
      };
      break;
    }
    if (sha256Hex(batchBytes(storedLines.slice(b.fromSeq, b.toSeq + 1))) !== b.sha256) {
      batchBreak = { seq: b.fromSeq, reason: `mirror batch ${b.key} SHA-256 does not match its entries` };
      break;
    }
  }
  const hashes = new Map<number, string>();
  // Hash at each anchored seq, from the verified chain (the entry line's own `hash` field, now trusted).
  for (const a of anchors) {
    const stored = storedLines[a.toSeq];
    if (stored !== undefined && a.toSeq > 0)
      hashes.set(a.toSeq, (JSON.parse(stored) as { hash: string }).hash);
  }
  const anchorBreak = verifyAnchors(anchors, {
    headSeq: chain.head.seq,
    hashAt: (seq) => hashes.get(seq),
    batches,
  });
  return report(firstBreak(anchorBreak, batchBreak));
}

function parseRecord(line: string, keys: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(line) as Record<string, unknown>;
    if (canonicalJson(value) !== line || Object.keys(value).join(",") !== keys) return null;
    const { kind: _kind, ...rest } = value;
    return rest;
  } catch {
    return null;
  }
}

function locateInvalidUtf8(bytes: Uint8Array, chain: ChainVerifier): ChainBreak {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  let start = 0;
  let lineNo = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      lineNo++;
      try {
        const line = decoder.decode(bytes.subarray(start, i));
        if (lineNo > 1 && chain.next(line, undefined, true)) break;
      } catch {
        return { seq: chain.head.seq + 1, line: lineNo, reason: `line ${lineNo} is not valid UTF-8` };
      }
      start = i + 1;
    }
  }
  return chain.broken ?? { seq: chain.head.seq + 1, reason: "export is not valid UTF-8" };
}
