import {
  ErrorCode,
  err,
  type HedgeObligationQuery,
  type HedgeObligationState,
  type HedgeObligationStats,
  type HedgeObligationView,
  ok,
  type Result,
} from "@paulp/contracts";
import { type HedgeObligationEvent, obligationStats, obligationStep } from "../hedge-obligations";

/** One row of the `hedge_obligations` table (SQLite column names). */
interface ObligationRow {
  coid: string;
  strategy_id: string;
  pair_id: string;
  market: string;
  category: string | null;
  fill_side: string;
  filled: number;
  conid: string;
  side: string;
  quantity: number;
  state: string;
  first_seen_at: string;
  updated_at: string;
  last_reason: string | null;
  attempts: number;
  hedge_coid: string | null;
  evidence: string;
  [key: string]: SqlStorageValue;
}

/** What the loop knows when a covered fill's hedge becomes owed. */
export type NewObligation = Pick<
  HedgeObligationView,
  | "clientOrderId"
  | "strategyId"
  | "pairId"
  | "market"
  | "category"
  | "fillSide"
  | "filled"
  | "conid"
  | "side"
  | "quantity"
  | "evidenceHashes"
>;

/** What a step changes besides the state: the reason, the shares still owed, the hedge order that closed it. */
export interface ObligationPatch {
  reason?: string;
  quantity?: number;
  hedgeOrderId?: string;
}

/**
 * The hedge obligations in the order manager's SQLite storage (beside the orders they hedge). Synchronous, like
 * OrderStore: a check-then-write with no await between cannot interleave. Moves go through the table in
 * ../hedge-obligations.ts only.
 */
export class HedgeObligationStore {
  constructor(
    private readonly sql: SqlStorage,
    private readonly now: () => number,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS hedge_obligations (
      coid TEXT PRIMARY KEY, strategy_id TEXT NOT NULL, pair_id TEXT NOT NULL, market TEXT NOT NULL, category TEXT,
      fill_side TEXT NOT NULL, filled REAL NOT NULL, conid TEXT NOT NULL, side TEXT NOT NULL, quantity INTEGER NOT NULL,
      state TEXT NOT NULL, first_seen_at TEXT NOT NULL, updated_at TEXT NOT NULL, last_reason TEXT,
      attempts INTEGER NOT NULL DEFAULT 0, hedge_coid TEXT, evidence TEXT NOT NULL)`);
    sql.exec("CREATE INDEX IF NOT EXISTS hedge_obligations_state ON hedge_obligations(state, first_seen_at)");
  }

  private row(coid: string): ObligationRow | undefined {
    return this.sql.exec<ObligationRow>("SELECT * FROM hedge_obligations WHERE coid = ?", coid).toArray()[0];
  }

  private view(r: ObligationRow): HedgeObligationView {
    return {
      clientOrderId: r.coid,
      strategyId: r.strategy_id,
      pairId: r.pair_id,
      market: r.market,
      category: r.category,
      fillSide: r.fill_side as "buy" | "sell",
      filled: Number(r.filled),
      conid: r.conid,
      side: r.side as "buy" | "sell",
      quantity: Number(r.quantity),
      state: r.state as HedgeObligationState,
      firstSeenAt: r.first_seen_at,
      updatedAt: r.updated_at,
      lastReason: r.last_reason,
      attempts: Number(r.attempts),
      hedgeOrderId: r.hedge_coid,
      evidenceHashes: JSON.parse(r.evidence) as string[],
    };
  }

  get(coid: string): HedgeObligationView | null {
    const r = this.row(coid);
    return r ? this.view(r) : null;
  }

  /** Record an owed hedge (`open`), once per Kalshi order: a second call answers the one already there. */
  open(o: NewObligation): HedgeObligationView {
    const now = new Date(this.now()).toISOString();
    this.sql.exec(
      `INSERT OR IGNORE INTO hedge_obligations (coid, strategy_id, pair_id, market, category, fill_side, filled, conid, side, quantity, state, first_seen_at, updated_at, evidence)
       VALUES (?,?,?,?,?,?,?,?,?,?,'open',?,?,?)`,
      o.clientOrderId,
      o.strategyId,
      o.pairId,
      o.market,
      o.category,
      o.fillSide,
      o.filled,
      o.conid,
      o.side,
      o.quantity,
      now,
      now,
      JSON.stringify(o.evidenceHashes),
    );
    return this.view(this.row(o.clientOrderId)!);
  }

  /** Move an obligation through the table; a failed attempt counts, and may reduce what is still owed. */
  step(coid: string, event: HedgeObligationEvent, patch: ObligationPatch): Result<HedgeObligationView> {
    const r = this.row(coid);
    if (!r) return err(ErrorCode.notFound, `no hedge obligation for ${coid}`);
    const t = obligationStep(r.state as HedgeObligationState, event);
    if (!t.ok) return err(ErrorCode.conflict, `${coid}: ${t.message}`);
    this.sql.exec(
      `UPDATE hedge_obligations SET state = ?, updated_at = ?, attempts = attempts + ?, last_reason = COALESCE(?, last_reason),
       quantity = COALESCE(?, quantity), hedge_coid = COALESCE(?, hedge_coid) WHERE coid = ?`,
      t.state,
      new Date(this.now()).toISOString(),
      event === "attempt_failed" ? 1 : 0,
      patch.reason ?? null,
      patch.quantity ?? null,
      patch.hedgeOrderId ?? null,
      coid,
    );
    return ok(this.view(this.row(coid)!));
  }

  /** Obligations in one state (default `open`), oldest first. */
  list(q: HedgeObligationQuery): HedgeObligationView[] {
    return this.sql
      .exec<ObligationRow>(
        "SELECT * FROM hedge_obligations WHERE state = ? ORDER BY first_seen_at, coid LIMIT ?",
        q.state ?? "open",
        q.limit ?? 100,
      )
      .toArray()
      .map((r) => this.view(r));
  }

  /** The open obligations' gauges, their age as of now. */
  stats(): HedgeObligationStats {
    const open = this.sql
      .exec<{ first_seen_at: string; quantity: number }>(
        "SELECT first_seen_at, quantity FROM hedge_obligations WHERE state = 'open'",
      )
      .toArray()
      .map((r) => ({ firstSeenAt: r.first_seen_at, quantity: Number(r.quantity) }));
    return obligationStats(open, this.now());
  }
}
