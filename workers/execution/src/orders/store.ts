// Over 400 lines on purpose: one typed class per SQLite schema keeps every check-then-write synchronous in one place.
import type {
  AuditEvent,
  ExecutionMode,
  ExecutionMonitorStats,
  ExecutionPolicyView,
  ExecutionPosition,
  FillReport,
  OrderContext,
  OrderIntent,
  OrderQuery,
  OrderState,
  OrderStateChange,
  OrderView,
  ReconciliationReport,
  Result,
  RiskDecision,
  Venue,
} from "@paulp/contracts";
import { ErrorCode, err, ok } from "@paulp/contracts";
import {
  formatFixed,
  nearestHundredths,
  PRICE_DECIMALS,
  parseFixed,
  quantityNumber,
  venueDollars,
} from "@paulp/kit";
import type { Backoff } from "../backoff";
import { initialPolicy } from "../policy";
import type { InFlightOrder } from "../reconcile";
import { isTerminal, transition, withdrawal } from "./state";

/** One row of the `orders` table (SQLite column names). */
export interface OrderRow {
  coid: string;
  intent: string;
  intent_hash: string;
  decision_id: string;
  decision: string | null;
  strategy_id: string;
  venue: string;
  market: string;
  side: string;
  quantity: number;
  mode: string;
  state: string;
  venue_order_id: string | null;
  filled: number;
  avg_price: string | null;
  fees: string;
  reason: string | null;
  context: string | null;
  created_at: string;
  updated_at: string;
  history: string;
  [key: string]: SqlStorageValue;
}

/** A new claim: the row written before anything is asked of risk or a venue. */
export interface Claim {
  intent: OrderIntent;
  intentHash: string;
  decisionId: string | null;
  mode: ExecutionMode;
  context: OrderContext | undefined;
}

/**
 * The order manager's typed store over its SQLite storage: orders, fills, the outboxes and the small meta
 * values (policy, venue backoffs, the last reconciliation). Every method is synchronous, so a caller's
 * check-then-write with no await between cannot interleave. The clock is passed in; `armOutbox` is called
 * whenever something is left for the outbox alarm to push (an order ended, a fill stored, an audit held), and
 * `onFill` with every new fill (the order's filled count before and after), in the same write.
 */
export class OrderStore {
  constructor(
    private readonly sql: SqlStorage,
    private readonly now: () => number,
    private readonly armOutbox: () => void,
    /** Told of every new fill in the same synchronous write (the hedge-fill facts: orders/obligations.ts). */
    private readonly onFill: (
      order: OrderRow,
      fillId: string,
      before: number,
      after: number,
    ) => void = () => {},
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS orders (
      coid TEXT PRIMARY KEY, intent TEXT NOT NULL, intent_hash TEXT NOT NULL, decision_id TEXT NOT NULL, decision TEXT,
      strategy_id TEXT NOT NULL, venue TEXT NOT NULL, market TEXT NOT NULL, side TEXT NOT NULL, quantity INTEGER NOT NULL,
      mode TEXT NOT NULL, state TEXT NOT NULL, venue_order_id TEXT, filled INTEGER NOT NULL DEFAULT 0, avg_price TEXT,
      fees TEXT NOT NULL DEFAULT '0.0000', reason TEXT, context TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
      history TEXT NOT NULL)`);
    sql.exec("CREATE INDEX IF NOT EXISTS orders_state ON orders(state)");
    sql.exec("CREATE INDEX IF NOT EXISTS orders_created ON orders(created_at)");
    sql.exec(`CREATE TABLE IF NOT EXISTS fills (
      fill_id TEXT PRIMARY KEY, coid TEXT NOT NULL, venue TEXT NOT NULL, market TEXT NOT NULL, mode TEXT NOT NULL,
      strategy_id TEXT NOT NULL, side TEXT NOT NULL, quantity INTEGER NOT NULL, price TEXT NOT NULL, fee TEXT NOT NULL,
      ts TEXT NOT NULL, reported INTEGER NOT NULL DEFAULT 0)`);
    sql.exec("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)");
    // Orders that ended, for risk to release what they still reserve (pushed after their fills).
    sql.exec("CREATE TABLE IF NOT EXISTS ended (coid TEXT PRIMARY KEY)");
    // Facts the venue already made true (an outcome, a fill found by a poll) whose audit append failed: they
    // cannot be undone, so they are kept and appended later, in order, by the alarm.
    sql.exec(
      "CREATE TABLE IF NOT EXISTS audit_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL)",
    );
    // Failed trading calls per venue and error kind (monotonic counters, read by the monitor for alerts and metrics).
    sql.exec(
      "CREATE TABLE IF NOT EXISTS venue_errors (venue TEXT NOT NULL, kind TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (venue, kind))",
    );
  }

  /** The `coid` column of a query's rows. */
  private coids(query: string, ...bindings: SqlStorageValue[]): string[] {
    return this.sql
      .exec<{ coid: string }>(query, ...bindings)
      .toArray()
      .map((r) => r.coid);
  }

  private nowIso(): string {
    return new Date(this.now()).toISOString();
  }

  ping(): void {
    this.sql.exec("SELECT 1").toArray();
  }

  // ---- orders ----

  row(coid: string): OrderRow | undefined {
    return this.sql.exec<OrderRow>("SELECT * FROM orders WHERE coid = ?", coid).toArray()[0];
  }

  /** The row as the contract's `OrderView`. */
  view(r: OrderRow): OrderView {
    return {
      clientOrderId: r.coid,
      intent: JSON.parse(r.intent) as OrderIntent,
      intentHash: r.intent_hash,
      decisionId: r.decision_id,
      decision: r.decision ? (JSON.parse(r.decision) as RiskDecision) : null,
      mode: r.mode as ExecutionMode,
      state: r.state as OrderState,
      venueOrderId: r.venue_order_id,
      filledQuantity: r.filled,
      avgFillPrice: r.avg_price,
      fees: r.fees,
      reason: r.reason,
      context: r.context ? (JSON.parse(r.context) as OrderContext) : null,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      history: JSON.parse(r.history) as OrderStateChange[],
    };
  }

  /** The order's view, which must exist (read right after a write). */
  viewOf(coid: string): OrderView {
    return this.view(this.row(coid)!);
  }

  /** Write the claim row (`pending_submit`), keyed by its client order id. */
  insertClaim(c: Claim): void {
    const now = this.nowIso();
    const { intent } = c;
    this.sql.exec(
      `INSERT INTO orders (coid, intent, intent_hash, decision_id, strategy_id, venue, market, side, quantity, mode, state, context, created_at, updated_at, history)
       VALUES (?,?,?,?,?,?,?,?,?,?,'pending_submit',?,?,?,?)`,
      intent.clientOrderId,
      JSON.stringify(intent),
      c.intentHash,
      c.decisionId ?? "",
      intent.strategyId,
      intent.venue,
      intent.market,
      intent.side,
      intent.quantity,
      c.mode,
      c.context ? JSON.stringify(c.context) : null,
      now,
      now,
      JSON.stringify([{ state: "pending_submit", at: now, reason: null }]),
    );
  }

  /** Withdraw a claim nothing was decided for: the table's `pending_submit → withdrawn` edge deletes its row. */
  withdrawClaim(coid: string): Result<void> {
    const r = this.row(coid);
    if (!r) return err(ErrorCode.notFound, `no order ${coid}`);
    const t = withdrawal(r.state as OrderState);
    if (!t.ok) return err(ErrorCode.conflict, `order ${coid} is ${r.state}: ${t.message}`);
    this.sql.exec("DELETE FROM orders WHERE coid = ?", coid);
    return ok(undefined);
  }

  /** Keep risk's consumed decision with the order. */
  storeDecision(coid: string, decision: RiskDecision): void {
    this.sql.exec(
      "UPDATE orders SET decision = ?, decision_id = ? WHERE coid = ?",
      JSON.stringify(decision),
      decision.decisionId,
      coid,
    );
  }

  setReason(coid: string, reason: string): void {
    this.sql.exec("UPDATE orders SET reason = ? WHERE coid = ?", reason, coid);
  }

  /** Move an order through the state table; synchronous, so nothing interleaves between check and write. */
  move(
    coid: string,
    to: OrderState,
    reason: string | null,
    patch: { venue_order_id?: string } = {},
  ): Result<OrderRow> {
    const r = this.row(coid);
    if (!r) return err(ErrorCode.notFound, `no order ${coid}`);
    if (r.state === to && to !== "partially_filled") return ok(r);
    const t = transition(r.state as OrderState, to);
    if (!t.ok) return err(ErrorCode.conflict, `order ${coid} is ${r.state}: ${t.message}`);
    const now = this.nowIso();
    const history = JSON.parse(r.history) as OrderStateChange[];
    history.push({ state: to, at: now, reason });
    this.sql.exec(
      "UPDATE orders SET state = ?, reason = COALESCE(?, reason), updated_at = ?, history = ?, venue_order_id = COALESCE(?, venue_order_id) WHERE coid = ?",
      to,
      reason,
      now,
      JSON.stringify(history),
      patch.venue_order_id ?? null,
      coid,
    );
    if (isTerminal(to)) {
      this.sql.exec("INSERT OR IGNORE INTO ended (coid) VALUES (?)", coid);
      this.armOutbox();
    }
    return ok(this.row(coid)!);
  }

  /** Store fills up to `totalFilled` (idempotent by cumulative quantity); the outbox tells risk. */
  storeFills(coid: string, totalFilled: number, venuePrice: string | null, venueFee: string): void {
    const r = this.row(coid);
    // Counts are exact to 0.01 (Kalshi's granularity): compared and subtracted in hundredths, never truncated.
    if (!r) return;
    const totalH = nearestHundredths(totalFilled);
    const storedH = nearestHundredths(r.filled);
    if (totalH <= storedH) return;
    // Venues may send 6 decimals; risk takes 4. A fill count with no (usable) price: the limit is the worst
    // price it can have filled at, so risk counts it conservatively rather than not at all.
    const avgPrice = venueDollars(venuePrice, "half-up") ?? (JSON.parse(r.intent) as OrderIntent).limitPrice;
    const fee = venueDollars(venueFee, "ceil") ?? "0.0000";
    // Risk holds quantities in hundredths too: a 0.37-contract fill is reported as 0.37 and counted exactly.
    const qty = quantityNumber(totalH - storedH);
    const fillId = `${coid}:${totalFilled}`;
    const ts = this.nowIso();
    this.sql.exec(
      "UPDATE orders SET filled = ?, avg_price = ?, fees = ? WHERE coid = ?",
      totalFilled,
      avgPrice,
      fee,
      coid,
    );
    // `fee` is the order's total so far: this fill carries what it adds (a second fill of the same order must
    // not count the first one's fee again).
    const fillFee = formatFixed(
      Math.max(
        0,
        parseFixed(fee, PRICE_DECIMALS) -
          parseFixed(venueDollars(r.fees, "ceil") ?? "0.0000", PRICE_DECIMALS),
      ),
      PRICE_DECIMALS,
    );
    this.sql.exec(
      "INSERT OR IGNORE INTO fills (fill_id, coid, venue, market, mode, strategy_id, side, quantity, price, fee, ts) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
      fillId,
      coid,
      r.venue,
      r.market,
      r.mode,
      r.strategy_id,
      r.side,
      qty,
      avgPrice,
      fillFee,
      ts,
    );
    this.onFill(r, fillId, Number(r.filled), totalFilled);
    this.armOutbox();
  }

  list(q: OrderQuery): OrderRow[] {
    return this.sql
      .exec<OrderRow>(
        "SELECT * FROM orders WHERE (? IS NULL OR state = ?) AND (? IS NULL OR strategy_id = ?) ORDER BY created_at DESC, coid LIMIT ?",
        q.state ?? null,
        q.state ?? null,
        q.strategyId ?? null,
        q.strategyId ?? null,
        q.limit ?? 100,
      )
      .toArray();
  }

  /** Live claims whose decision is stored but which never left `pending_submit` (last touched before `before`). */
  staleLiveSends(before: string): string[] {
    return this.coids(
      "SELECT coid FROM orders WHERE mode = 'live' AND state = 'pending_submit' AND decision IS NOT NULL AND updated_at < ?",
      before,
    );
  }

  /** Claims still without a stored decision, last touched before `before`. */
  undecidedClaims(before: string): string[] {
    return this.coids(
      "SELECT coid FROM orders WHERE state = 'pending_submit' AND decision IS NULL AND updated_at < ?",
      before,
    );
  }

  /** Live orders the venue may still change (unknown or open), oldest first. */
  openLive(limit: number): OrderRow[] {
    return this.sql
      .exec<OrderRow>(
        `SELECT * FROM orders WHERE mode = 'live' AND state IN ('unknown', 'submitted', 'partially_filled') ORDER BY created_at LIMIT ${limit}`,
      )
      .toArray();
  }

  countUnknown(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM orders WHERE state = 'unknown'").one().n;
  }

  // ---- positions ----

  positions(): ExecutionPosition[] {
    return this.sql
      .exec<{ venue: string; market: string; mode: string; position: number }>(
        "SELECT venue, market, mode, SUM(CASE side WHEN 'buy' THEN quantity ELSE -quantity END) AS position FROM fills GROUP BY venue, market, mode ORDER BY venue, market, mode",
      )
      .toArray()
      .map((p) => ({
        venue: p.venue as Venue,
        market: p.market,
        mode: p.mode as ExecutionMode,
        position: Number(p.position),
      }));
  }

  /**
   * Live orders that may be at the venue with their outcome not known yet: being sent (`pending_submit` with its
   * decision stored; after a restart, until the sweep calls it `unknown` 30 s later), `unknown`, or open.
   */
  inFlight(): InFlightOrder[] {
    return this.sql
      .exec<{ venue: string; market: string; side: string; remaining: number }>(
        `SELECT venue, market, side, quantity - filled AS remaining FROM orders WHERE mode = 'live'
         AND (state IN ('unknown', 'submitted', 'partially_filled') OR (state = 'pending_submit' AND decision IS NOT NULL))`,
      )
      .toArray()
      .map((o) => ({
        venue: o.venue as Venue,
        market: o.market,
        side: o.side as "buy" | "sell",
        remaining: Math.max(0, Number(o.remaining)),
      }));
  }

  /** A strategy's filled position in one market and mode. */
  positionIn(venue: Venue, market: string, mode: ExecutionMode, strategyId: string): number {
    const row = this.sql
      .exec<{ p: number | null }>(
        "SELECT SUM(CASE side WHEN 'buy' THEN quantity ELSE -quantity END) AS p FROM fills WHERE venue = ? AND market = ? AND mode = ? AND strategy_id = ?",
        venue,
        market,
        mode,
        strategyId,
      )
      .one();
    return Number(row.p ?? 0);
  }

  // ---- the outbox's tables ----

  /** Up to `limit` fills risk has not accepted yet, oldest first. */
  unreportedFills(limit: number): FillReport[] {
    return this.sql
      .exec<Record<string, SqlStorageValue>>(
        `SELECT * FROM fills WHERE reported = 0 ORDER BY rowid LIMIT ${limit}`,
      )
      .toArray()
      .map((f) => ({
        fillId: String(f.fill_id),
        strategyId: String(f.strategy_id),
        venue: f.venue as Venue,
        market: String(f.market),
        side: f.side as "buy" | "sell",
        quantity: Number(f.quantity),
        price: String(f.price),
        fee: String(f.fee),
        clientOrderId: String(f.coid),
        ts: String(f.ts),
      }));
  }

  markReported(fillIds: string[]): void {
    for (const id of fillIds) this.sql.exec("UPDATE fills SET reported = 1 WHERE fill_id = ?", id);
  }

  countUnreportedFills(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM fills WHERE reported = 0").one().n;
  }

  /** Ended orders whose fills are all reported, up to `limit`. */
  endedReady(limit: number): string[] {
    return this.coids(
      `SELECT coid FROM ended WHERE NOT EXISTS (SELECT 1 FROM fills WHERE fills.coid = ended.coid AND reported = 0) ORDER BY rowid LIMIT ${limit}`,
    );
  }

  forgetEnded(coids: string[]): void {
    for (const c of coids) this.sql.exec("DELETE FROM ended WHERE coid = ?", c);
  }

  countEnded(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM ended").one().n;
  }

  countHeldAudits(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM audit_outbox").one().n;
  }

  holdAudit(event: AuditEvent<"execution">): void {
    this.sql.exec("INSERT INTO audit_outbox (event) VALUES (?)", JSON.stringify(event));
    this.armOutbox();
  }

  heldAudits(limit: number): { id: number; event: AuditEvent<"execution"> }[] {
    return this.sql
      .exec<{ id: number; event: string }>(`SELECT id, event FROM audit_outbox ORDER BY id LIMIT ${limit}`)
      .toArray()
      .map((r) => ({ id: r.id, event: JSON.parse(r.event) as AuditEvent<"execution"> }));
  }

  dropHeldAuditsThrough(id: number): void {
    this.sql.exec("DELETE FROM audit_outbox WHERE id <= ?", id);
  }

  // ---- meta: policy, backoffs, monitoring ----

  private meta<T>(k: string): T | null {
    const row = this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = ?", k).toArray()[0];
    return row ? (JSON.parse(row.v) as T) : null;
  }

  private setMeta(k: string, v: unknown): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", k, JSON.stringify(v));
  }

  policy(): ExecutionPolicyView {
    return this.meta<ExecutionPolicyView>("policy") ?? initialPolicy(this.nowIso());
  }

  savePolicy(p: ExecutionPolicyView): void {
    this.setMeta("policy", p);
  }

  backoff(venue: Venue): Backoff | null {
    return this.meta<Backoff>(`backoff:${venue}`);
  }

  saveBackoff(venue: Venue, b: Backoff | null): void {
    if (b) this.setMeta(`backoff:${venue}`, b);
    else this.sql.exec("DELETE FROM meta WHERE k = ?", `backoff:${venue}`);
  }

  saveReconciliation(report: ReconciliationReport): void {
    this.setMeta("last_reconciliation", report);
  }

  /** Count one failed trading call (an order, a cancel, a positions read) against its venue and kind. */
  countVenueError(venue: string, kind: string): void {
    this.sql.exec(
      "INSERT INTO venue_errors (venue, kind, n) VALUES (?, ?, 1) ON CONFLICT (venue, kind) DO UPDATE SET n = n + 1",
      venue,
      kind,
    );
  }

  /** Orders by state, trading-call errors by venue and kind, and the last reconciliation (obligations: theirs). */
  monitorStats(): Omit<ExecutionMonitorStats, "hedgeObligations"> {
    const ordersByState: ExecutionMonitorStats["ordersByState"] = {};
    for (const r of this.sql.exec<{ state: OrderState; n: number }>(
      "SELECT state, COUNT(*) AS n FROM orders GROUP BY state",
    ))
      ordersByState[r.state] = Number(r.n);
    const venueErrors: ExecutionMonitorStats["venueErrors"] = {};
    for (const r of this.sql.exec<{ venue: string; kind: string; n: number }>(
      "SELECT venue, kind, n FROM venue_errors",
    ))
      venueErrors[r.venue] = { ...venueErrors[r.venue], [r.kind]: Number(r.n) };
    return {
      ordersByState,
      venueErrors,
      lastReconciliation: this.meta<ReconciliationReport>("last_reconciliation"),
    };
  }
}
