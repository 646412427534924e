import fc from "fast-check";
import { generateAuditKey } from "../../../scripts/audit-keygen.mjs";
import type { EventFields } from "../src/entry";
import {
  type AuditAnchor,
  type AuditMirrorBatch,
  batchBytes,
  batchKey,
  buildAnchor,
  buildEntry,
  type ChainPoint,
  entryLine,
  exportAnchorLine,
  exportBatchLine,
  exportEndLine,
  exportEntryLine,
  exportHeaderLine,
  GENESIS_POINT,
  manifestHash,
  parseSignerKey,
  parseVerifierKey,
  sha256Hex,
  signCheckpoint,
} from "../src/index";

/** The anchor signing key of these tests, generated when they run (as the audit worker's secret would be). */
export const testKey = generateAuditKey("paulp.test/audit");
export const signer = parseSignerKey(testKey.signerKey);
export const verifier = parseVerifierKey(testKey.verifierKey);

/** Random but well-formed events (payloads are arbitrary JSON with no NaN/Infinity/-0). */
export const eventArb: fc.Arbitrary<EventFields> = fc.record({
  type: fc.constantFrom(
    "risk.decision",
    "gateway.admin_request",
    "execution.order_placed",
    "governance.approved",
  ),
  service: fc.constantFrom("gateway", "risk", "execution", "governance", "ingestion", "audit" as const),
  actor: fc.oneof(
    fc.record({
      method: fc.constant("system" as const),
      subject: fc.string({ minLength: 1, maxLength: 12 }),
    }),
    fc.record({
      method: fc.constant("access" as const),
      subject: fc.string({ minLength: 1, maxLength: 12 }),
      email: fc.constant("ops@example.com"),
    }),
  ),
  payload: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v))),
});

/** A chain of stored lines built from events, with a fixed clock. */
export function buildChain(events: EventFields[], start: ChainPoint = GENESIS_POINT) {
  const lines: string[] = [];
  let head = start;
  events.forEach((event, i) => {
    const entry = buildEntry(head, event, new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString());
    lines.push(entryLine(entry));
    head = { seq: entry.seq, hash: entry.hash };
  });
  return { lines, head };
}

/** Mirror batches of at most `size` entries over `lines` (lines[0] is seq 1). */
export function mirror(lines: string[], size: number, upTo = lines.length) {
  const batches: AuditMirrorBatch[] = [];
  const objects = new Map<string, Uint8Array>();
  for (let from = 1; from <= upTo; from += size) {
    const to = Math.min(upTo, from + size - 1);
    const bytes = batchBytes(lines.slice(from - 1, to));
    const batch = { key: batchKey(from, to), fromSeq: from, toSeq: to, sha256: sha256Hex(bytes) };
    batches.push(batch);
    objects.set(batch.key, bytes);
  }
  return { batches, objects };
}

/** Anchor at each of `toSeqs` (ascending), with the manifest of the batches covering it. */
export function anchorAt(lines: string[], batches: AuditMirrorBatch[], toSeqs: number[]): AuditAnchor[] {
  const anchors: AuditAnchor[] = [];
  for (const toSeq of toSeqs) {
    const hash = (JSON.parse(lines[toSeq - 1]!) as { hash: string }).hash;
    const covered = batches.filter((b) => b.toSeq <= toSeq);
    const anchor = buildAnchor(
      anchors.at(-1) ?? null,
      { seq: toSeq, hash },
      `2026-01-01T0${anchors.length}:00:00.000Z`,
      manifestHash(covered),
    );
    anchors.push({ ...anchor, checkpoint: signCheckpoint(anchor, signer) });
  }
  return anchors;
}

/** An export file's text. */
export function exportText(lines: string[], batches: AuditMirrorBatch[], anchors: AuditAnchor[]): string {
  const last = lines.at(-1);
  const end = exportEndLine({
    entries: lines.length,
    headSeq: lines.length,
    headHash: last ? (JSON.parse(last) as { hash: string }).hash : GENESIS_POINT.hash,
    batches: batches.length,
    anchors: anchors.length,
  });
  return `${[exportHeaderLine(), ...lines.map(exportEntryLine), ...batches.map(exportBatchLine), ...anchors.map(exportAnchorLine), end].join("\n")}\n`;
}

/** A chain whose batch size makes every anchor land on a batch end, as the sequencer does. */
export function mirroredChain(events: EventFields[], batchSize: number) {
  const { lines, head } = buildChain(events);
  const { batches, objects } = mirror(lines, batchSize);
  const anchors = anchorAt(
    lines,
    batches,
    batches.map((b) => b.toSeq),
  );
  return { lines, head, batches, objects, anchors };
}
