import type { AuditAnchor, Result } from "@paulp/contracts";
import { ErrorCode, err, ok } from "@paulp/contracts";

interface AnchorRow {
  anchor_no: number;
  to_seq: number;
  head_hash: string;
  prev_anchor_hash: string;
  anchored_at: string;
  r2_manifest_hash: string;
  anchor_hash: string;
  checkpoint: string | null;
}

/** Which cron hour a scheduled run belongs to: two firings of the same hour share it. */
export function cronSlot(scheduledTime: number): number {
  return Math.floor(scheduledTime / 3_600_000);
}

const COLUMNS =
  "anchor_no, to_seq, head_hash, prev_anchor_hash, anchored_at, r2_manifest_hash, anchor_hash, checkpoint";

function fromRow(r: AnchorRow): AuditAnchor {
  const anchor: AuditAnchor = {
    anchorNo: r.anchor_no,
    toSeq: r.to_seq,
    headHash: r.head_hash,
    prevAnchorHash: r.prev_anchor_hash,
    anchoredAt: r.anchored_at,
    r2ManifestHash: r.r2_manifest_hash,
    anchorHash: r.anchor_hash,
  };
  // A row from before anchors were signed has none (verification refuses it).
  if (r.checkpoint !== null) anchor.checkpoint = r.checkpoint;
  return anchor;
}

/** The newest anchor row, or null before the first. */
export async function latestAnchor(db: D1Database): Promise<AuditAnchor | null> {
  const row = await db
    .prepare(`SELECT ${COLUMNS} FROM anchors ORDER BY anchor_no DESC LIMIT 1`)
    .first<AnchorRow>();
  return row ? fromRow(row) : null;
}

/** Every anchor row in number order (verification reads them all; there is one an hour). */
export async function listAnchors(db: D1Database, maxSeq = Number.MAX_SAFE_INTEGER): Promise<AuditAnchor[]> {
  const { results } = await db
    .prepare(`SELECT ${COLUMNS} FROM anchors WHERE to_seq <= ? ORDER BY anchor_no`)
    .bind(maxSeq)
    .all<AnchorRow>();
  return results.map(fromRow);
}

/**
 * Insert an anchor. The table's triggers refuse a fork, a skipped number or a backwards toSeq even if
 * this code were wrong; a taken cron slot (the cron firing twice) comes back as `cron_slot_taken`.
 */
export async function insertAnchor(
  db: D1Database,
  a: AuditAnchor,
  cronSlot: number | null,
): Promise<Result<void>> {
  try {
    await db
      .prepare(`INSERT INTO anchors (${COLUMNS}, cron_slot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .bind(
        a.anchorNo,
        a.toSeq,
        a.headHash,
        a.prevAnchorHash,
        a.anchoredAt,
        a.r2ManifestHash,
        a.anchorHash,
        a.checkpoint ?? null,
        cronSlot,
      )
      .run();
    return ok(undefined);
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    if (/UNIQUE constraint failed: anchors\.cron_slot/.test(message))
      return err("cron_slot_taken", "this cron hour is already anchored");
    if (/UNIQUE constraint failed: anchors\.anchor_no|PRIMARY KEY/.test(message)) {
      return err(ErrorCode.conflict, `anchor ${a.anchorNo} already exists`);
    }
    const refused = /anchor_no is not the next|fork|goes backwards|anchor genesis|not signed/.exec(message);
    if (refused) return err(ErrorCode.conflict, `anchor refused by D1_ANCHOR: ${refused[0]}`);
    throw error;
  }
}
