// Approver roster rows in D1. The first row of an action is inserted once (a racing second insert is ignored);
// every later change is a compare-and-set on `version`. Callers audit before they write (fail closed).
import type { ApprovalAction, ApproverRoster } from "@paulp/contracts";

interface RosterRow {
  action: ApprovalAction;
  approvers: string;
  version: number;
  source: "config" | "approval";
  request_id: string | null;
  updated_at: string;
  updated_by: string;
}

function toView(r: RosterRow): ApproverRoster {
  return {
    action: r.action,
    approvers: JSON.parse(r.approvers) as string[],
    version: r.version,
    source: r.source,
    requestId: r.request_id,
    updatedAt: r.updated_at,
    updatedBy: r.updated_by,
  };
}

/** One action's roster, or null when none was ever set. */
export async function getRoster(db: D1Database, action: ApprovalAction): Promise<ApproverRoster | null> {
  const row = await db
    .prepare("SELECT * FROM approver_rosters WHERE action = ?")
    .bind(action)
    .first<RosterRow>();
  return row ? toView(row) : null;
}

/** Every stored roster. */
export async function listRosters(db: D1Database): Promise<ApproverRoster[]> {
  const { results } = await db.prepare("SELECT * FROM approver_rosters ORDER BY action").all<RosterRow>();
  return results.map(toView);
}

/** The first roster of an action (version 1, from config); a roster already there is kept. */
export async function insertFirstRoster(
  db: D1Database,
  action: ApprovalAction,
  approvers: string[],
  by: string,
  now: string,
): Promise<void> {
  await db
    .prepare(
      `INSERT OR IGNORE INTO approver_rosters (action, approvers, version, source, request_id, updated_at, updated_by)
       VALUES (?, ?, 1, 'config', NULL, ?, ?)`,
    )
    .bind(action, JSON.stringify(approvers), now, by)
    .run();
}

/** Compare-and-set on version: the new roster, or null when the roster changed first. */
export async function replaceRoster(
  db: D1Database,
  current: ApproverRoster,
  approvers: string[],
  requestId: string,
  by: string,
  now: string,
): Promise<ApproverRoster | null> {
  const result = await db
    .prepare(
      `UPDATE approver_rosters SET approvers = ?, version = version + 1, source = 'approval', request_id = ?, updated_at = ?, updated_by = ?
       WHERE action = ? AND version = ?`,
    )
    .bind(JSON.stringify(approvers), requestId, now, by, current.action, current.version)
    .run();
  if (result.meta.changes !== 1) return null;
  return getRoster(db, current.action);
}
