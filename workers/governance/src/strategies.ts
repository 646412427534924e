// Strategy registry rows in D1. Every change is a compare-and-set on `version`, so two writers racing
// on one strategy cannot both win; callers audit before they write (fail closed).
import type {
  JsonValue,
  StrategyCreateInput,
  StrategyState,
  StrategySummary,
  StrategyView,
} from "@paulp/contracts";

interface StrategyRow {
  id: string;
  name: string;
  kind: string;
  state: StrategyState;
  allocation: string;
  venues: string;
  params: string;
  version: number;
  pending_request_id: string | null;
  pre_live_state: "paper" | "paused" | null;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
}

function toView(r: StrategyRow): StrategyView {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    state: r.state,
    allocation: r.allocation,
    venues: JSON.parse(r.venues) as string[],
    params: JSON.parse(r.params) as Record<string, JsonValue>,
    version: r.version,
    createdAt: r.created_at,
    createdBy: r.created_by,
    updatedAt: r.updated_at,
    updatedBy: r.updated_by,
    pendingRequestId: r.pending_request_id,
  };
}

/** Where a pending_live strategy goes back to when its go-live request ends without going live. */
export async function preLiveState(db: D1Database, id: string): Promise<"paper" | "paused"> {
  const row = await db
    .prepare("SELECT pre_live_state FROM strategies WHERE id = ?")
    .bind(id)
    .first<{ pre_live_state: "paper" | "paused" | null }>();
  // Rows that went pending_live before the column existed came from paper or paused; paused trades nothing.
  return row?.pre_live_state ?? "paused";
}

/** Insert a draft strategy. */
export async function insertStrategy(
  db: D1Database,
  id: string,
  input: StrategyCreateInput,
  by: string,
  now: string,
): Promise<StrategyView> {
  await db
    .prepare(
      `INSERT INTO strategies (id, name, kind, state, allocation, venues, params, version, pending_request_id, created_at, created_by, updated_at, updated_by)
       VALUES (?, ?, ?, 'draft', ?, ?, ?, 1, NULL, ?, ?, ?, ?)`,
    )
    .bind(
      id,
      input.name,
      input.kind,
      input.allocation,
      JSON.stringify(input.venues),
      JSON.stringify(input.params),
      now,
      by,
      now,
      by,
    )
    .run();
  return (await getStrategy(db, id))!;
}

/** One strategy, or null. */
export async function getStrategy(db: D1Database, id: string): Promise<StrategyView | null> {
  const row = await db.prepare("SELECT * FROM strategies WHERE id = ?").bind(id).first<StrategyRow>();
  return row ? toView(row) : null;
}

/** Every strategy, newest first. */
export async function listStrategies(db: D1Database): Promise<StrategyView[]> {
  const { results } = await db
    .prepare("SELECT * FROM strategies ORDER BY created_at DESC, id")
    .all<StrategyRow>();
  return results.map(toView);
}

/** Strategies the trading loop may run: paper and live only. */
export async function activeStrategies(db: D1Database): Promise<StrategySummary[]> {
  const { results } = await db
    .prepare("SELECT * FROM strategies WHERE state IN ('paper','live') ORDER BY id")
    .all<StrategyRow>();
  return results.map((r) => summaryOf(toView(r)));
}

/** A strategy as execution needs it (no bookkeeping). */
export function summaryOf(s: StrategyView): StrategySummary {
  const { id, name, kind, state, allocation, venues, params } = s;
  return { id, name, kind, state, allocation, venues, params };
}

/** Compare-and-set on version; answers the new view, or null when someone else changed it first. */
export async function updateStrategy(
  db: D1Database,
  current: StrategyView,
  change: {
    state?: StrategyState;
    allocation?: string;
    pendingRequestId?: string | null;
    /** Set when entering pending_live: the state to go back to. */
    preLiveState?: "paper" | "paused";
  },
  by: string,
  now: string,
): Promise<StrategyView | null> {
  const result = await db
    .prepare(
      `UPDATE strategies SET state = ?, allocation = ?, pending_request_id = ?, pre_live_state = COALESCE(?, pre_live_state), version = version + 1, updated_at = ?, updated_by = ?
       WHERE id = ? AND version = ?`,
    )
    .bind(
      change.state ?? current.state,
      change.allocation ?? current.allocation,
      change.pendingRequestId === undefined ? current.pendingRequestId : change.pendingRequestId,
      change.preLiveState ?? null,
      now,
      by,
      current.id,
      current.version,
    )
    .run();
  if (result.meta.changes !== 1) return null;
  return getStrategy(db, current.id);
}
