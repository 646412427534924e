import {
  ErrorCode,
  err,
  type HedgeObligationQuery,
  type HedgeObligationState,
  type HedgeObligationStats,
  type HedgeObligationView,
  ok,
  type Result,
  type UndeterminedHedgeFill,
} from "@paulp/contracts";
import {
  type FillHedge,
  type HedgeFill,
  type HedgeObligationEvent,
  mayOweHedge,
  obligationStats,
  obligationStep,
} from "../hedge-obligations";

/** One row of the `hedge_obligations` table (SQLite column names). */
interface ObligationRow {
  /** The obligation id (the Kalshi order's id for its first batch of fills). */
  coid: string;
  /** The Kalshi order (null on rows written before late fills were hedged: then `coid`). */
  order_coid: string | null;
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

/** Most obligations (and undetermined fills) one list answers unless the query asks for fewer. */
export const HEDGE_LIST_LIMIT = 100;

/** What a fill's resolution knows when its hedge becomes owed. */
export type NewObligation = Pick<
  HedgeObligationView,
  | "obligationId"
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
    // One obligation per batch of fills on an order since late fills are hedged: the order beside the id.
    const columns = sql.exec<{ name: string }>("PRAGMA table_info(hedge_obligations)").toArray();
    if (!columns.some((c) => c.name === "order_coid"))
      sql.exec("ALTER TABLE hedge_obligations ADD COLUMN order_coid TEXT");
    // New fills on Kalshi signal orders, recorded with the fill (synchronously) and judged against the hedge
    // map by the loop (it holds the map and reads categories); deleted once judged. `reason`: why a run could
    // not judge it (an unreadable map, an unreadable category): it stays, counted as open.
    sql.exec(`CREATE TABLE IF NOT EXISTS hedge_fills (
      fill_id TEXT PRIMARY KEY, coid TEXT NOT NULL, filled_before REAL NOT NULL, filled_after REAL NOT NULL,
      seen_at TEXT NOT NULL, reason TEXT)`);
  }

  /**
   * Record a new fill on an order (called by the order store in the same synchronous write as the fill, so a
   * fill is never stored without its fact). Only orders that may owe a hedge; a replayed fill id is ignored.
   */
  recordFill(
    order: { coid: string; venue: string; context: string | null },
    fillId: string,
    filledBefore: number,
    filledAfter: number,
  ): void {
    const kind = order.context ? (JSON.parse(order.context) as { kind?: string }).kind : null;
    if (!mayOweHedge(order.venue, kind)) return;
    this.sql.exec(
      "INSERT OR IGNORE INTO hedge_fills (fill_id, coid, filled_before, filled_after, seen_at) VALUES (?,?,?,?,?)",
      fillId,
      order.coid,
      filledBefore,
      filledAfter,
      new Date(this.now()).toISOString(),
    );
  }

  /**
   * The fills not judged yet (of one order, or all), with what their order says: never-judged ones first (a
   * backlog of undetermined ones never holds a new fill back), oldest first.
   */
  pendingFills(limit: number, clientOrderId: string | null = null): HedgeFill[] {
    return this.sql
      .exec<Record<string, SqlStorageValue>>(
        `SELECT h.fill_id, h.coid, h.filled_before, h.filled_after, h.seen_at, h.reason, o.strategy_id, o.market,
         o.side, o.intent, o.context FROM hedge_fills h JOIN orders o ON o.coid = h.coid
         WHERE (? IS NULL OR h.coid = ?) ORDER BY h.reason IS NOT NULL, h.seen_at, h.fill_id LIMIT ?`,
        clientOrderId,
        clientOrderId,
        limit,
      )
      .toArray()
      .map((r) => {
        const intent = JSON.parse(String(r.intent)) as { evidenceHashes?: string[] };
        const context = r.context ? (JSON.parse(String(r.context)) as { pairId?: string }) : {};
        return {
          fillId: String(r.fill_id),
          clientOrderId: String(r.coid),
          strategyId: String(r.strategy_id),
          pairId: context.pairId ?? "",
          market: String(r.market),
          fillSide: r.side as "buy" | "sell",
          filledBefore: Number(r.filled_before),
          filledAfter: Number(r.filled_after),
          evidenceHashes: intent.evidenceHashes ?? [],
          seenAt: String(r.seen_at),
          reason: r.reason === null ? null : String(r.reason),
        };
      });
  }

  /**
   * Apply a fill's judgement in one synchronous write: an owed hedge opens its obligation (once: its id is the
   * fill batch's) and the fact goes; nothing owed, the fact goes; undetermined, the fact stays with why.
   * Answers the obligation when this call opened it (the caller audits it).
   */
  resolveFill(fillId: string, judged: FillHedge): HedgeObligationView | null {
    const fact = this.sql
      .exec<{ seen_at: string }>("SELECT seen_at FROM hedge_fills WHERE fill_id = ?", fillId)
      .toArray()[0];
    if (!fact) return null;
    if (judged.kind === "undetermined") {
      this.sql.exec("UPDATE hedge_fills SET reason = ? WHERE fill_id = ?", judged.reason, fillId);
      return null;
    }
    this.sql.exec("DELETE FROM hedge_fills WHERE fill_id = ?", fillId);
    if (judged.kind === "none") return null;
    if (this.row(judged.obligationId)) return null;
    // Owed since the fill was seen, not since a run judged it: the monitor's age is the exposure's.
    return this.open({ ...judged.obligation, obligationId: judged.obligationId }, fact.seen_at);
  }

  private row(coid: string): ObligationRow | undefined {
    return this.sql.exec<ObligationRow>("SELECT * FROM hedge_obligations WHERE coid = ?", coid).toArray()[0];
  }

  private view(r: ObligationRow): HedgeObligationView {
    return {
      obligationId: r.coid,
      clientOrderId: r.order_coid ?? r.coid,
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

  /** Record an owed hedge (`open`), once per obligation id: a second call answers the one already there. */
  open(o: NewObligation, firstSeenAt?: string): HedgeObligationView {
    const now = new Date(this.now()).toISOString();
    this.sql.exec(
      `INSERT OR IGNORE INTO hedge_obligations (coid, order_coid, strategy_id, pair_id, market, category, fill_side, filled, conid, side, quantity, state, first_seen_at, updated_at, evidence)
       VALUES (?,?,?,?,?,?,?,?,?,?,?,'open',?,?,?)`,
      o.obligationId,
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
      firstSeenAt ?? now,
      now,
      JSON.stringify(o.evidenceHashes),
    );
    return this.view(this.row(o.obligationId)!);
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

  /** Obligations in one state (default `open`), oldest first, at most `limit` (default HEDGE_LIST_LIMIT). */
  list(q: HedgeObligationQuery): HedgeObligationView[] {
    return this.sql
      .exec<ObligationRow>(
        "SELECT * FROM hedge_obligations WHERE state = ? ORDER BY first_seen_at, coid LIMIT ?",
        q.state ?? "open",
        q.limit ?? HEDGE_LIST_LIMIT,
      )
      .toArray()
      .map((r) => this.view(r));
  }

  /**
   * The fills not judged into an obligation yet, as the operator sees them (the same order as `pendingFills`:
   * never-judged first, then oldest first): those with a reason count as open in `stats`.
   */
  undetermined(limit: number): UndeterminedHedgeFill[] {
    return this.pendingFills(limit).map((f) => ({
      fillId: f.fillId,
      clientOrderId: f.clientOrderId,
      strategyId: f.strategyId,
      market: f.market,
      fillSide: f.fillSide,
      filledBefore: f.filledBefore,
      filledAfter: f.filledAfter,
      recordedAt: f.seenAt,
      reason: f.reason,
    }));
  }

  /**
   * The open obligations' gauges, their age as of now. A fill a run could not judge (`reason` set) counts as
   * open too (fail closed: its exposure is unknown, not absent), with no shares (they are not known).
   */
  stats(): HedgeObligationStats {
    const open = this.sql
      .exec<{ first_seen_at: string; quantity: number }>(
        `SELECT first_seen_at, quantity FROM hedge_obligations WHERE state = 'open'
         UNION ALL SELECT seen_at AS first_seen_at, 0 AS quantity FROM hedge_fills WHERE reason IS NOT NULL`,
      )
      .toArray()
      .map((r) => ({ firstSeenAt: r.first_seen_at, quantity: Number(r.quantity) }));
    return obligationStats(open, this.now());
  }
}
