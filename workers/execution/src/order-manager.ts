import { DurableObject } from "cloudflare:workers";
import {
  type ApprovalReceiptRef,
  type AuditEventInput,
  type AuditReceipt,
  type ConsumedDecision,
  ErrorCode,
  type ExecutionMode,
  type ExecutionMonitorStats,
  type ExecutionPolicyChange,
  type ExecutionPolicyView,
  type ExecutionPosition,
  err,
  type FillReport,
  INTENT_HASH_DOMAIN,
  type JsonValue,
  type OrderBookSnapshot,
  type OrderContext,
  type OrderIntent,
  type OrderQuery,
  type OrderState,
  type OrderStateChange,
  type OrderSubmission,
  type OrderView,
  ok,
  type PositionDrift,
  type Principal,
  type ReconciliationReport,
  type Result,
  type RiskDecision,
  type Venue,
} from "@paulp/contracts";
import {
  auditAppend,
  canonicalHash,
  failedAfterRedeem,
  formatDollars,
  formatFixed,
  PRICE_DECIMALS,
  parseDollars,
  parseFixed,
  parseQuantity,
  rpc,
  venueDollars,
  worstCaseFee,
} from "@paulp/kit";
import { afterRateLimit, type Backoff, backoffLeftMs } from "./backoff";
import type { Env } from "./env";
import { ibkrStep } from "./orders/ibkr";
import { paperFill } from "./orders/paper";
import { isTerminal, stateForFills, transition } from "./orders/state";
import { applyPolicyChange, effectiveMode, initialPolicy } from "./policy";
import { preTradeVerdict } from "./pre-trade";
import { computeDrift, expectedPositions, type InFlightOrder, joinExpected } from "./reconcile";
import { venueClients } from "./venues/clients";
import { type VenueError, type VenueResult, verr } from "./venues/result";

/** An `unknown` order not found at the venue after this long was never accepted. */
const UNKNOWN_GRACE_MS = 120_000;
/** Risk errors after which it certainly stored and reserved nothing (anything else may hide a decision). */
const DECIDED_NOTHING = new Set<string>([ErrorCode.validationFailed, ErrorCode.auditUnavailable]);
/** A live order audited as submitted but still pending_submit this long after was cut off mid-send. */
const STALE_PENDING_MS = 30_000;
/**
 * A claim still without a stored decision this long after it was made was cut off while risk decided (a
 * restart): nothing was sent, so it ends rejected and its reservation is released. Far beyond the RPC and
 * audit timeouts of a live claim, which is also re-checked before its send.
 */
const ABANDONED_CLAIM_MS = 10 * 60_000;
const RPC_TIMEOUT_MS = 5_000;
/**
 * The outbox pushes fills this long after the first one is stored, so a busy second sends them together
 * (one `recordFills`, one risk turn) instead of one risk call per fill competing with the next order.
 */
const FILL_PUSH_DELAY_MS = 200;
/** The outbox's retry period: the alarm pushes unreported fills again this long after a failed push. */
const FILL_RETRY_MS = 5_000;
/** Fills per `recordFills` call (risk's `MAX_FILLS_PER_BATCH`). */
const FILL_BATCH = 100;

interface OrderRow {
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

/**
 * The order lifecycle, one instance per account ("orders"). The invariant that matters: an order row is
 * written, keyed by its client order id, before any await that could reach risk or a venue, so concurrent
 * duplicates find it and never send twice.
 */
export class OrderManager extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** The outbox alarm is already set (so a busy second sets it once, not once per fill). */
  private alarmArmed = false;
  /**
   * Orders this instance is sending right now. A slow send (an IBKR reauth and question rounds) is not a send
   * cut off by a restart: the recovery sweeps leave these alone. The set is lost on restart, as it should be.
   */
  private readonly sending = new Set<string>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS orders (
      coid TEXT PRIMARY KEY, intent TEXT NOT NULL, intent_hash TEXT NOT NULL, decision_id TEXT NOT NULL, decision TEXT,
      strategy_id TEXT NOT NULL, venue TEXT NOT NULL, market TEXT NOT NULL, side TEXT NOT NULL, quantity INTEGER NOT NULL,
      mode TEXT NOT NULL, state TEXT NOT NULL, venue_order_id TEXT, filled INTEGER NOT NULL DEFAULT 0, avg_price TEXT,
      fees TEXT NOT NULL DEFAULT '0.0000', reason TEXT, context TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
      history TEXT NOT NULL)`);
    this.sql.exec("CREATE INDEX IF NOT EXISTS orders_state ON orders(state)");
    this.sql.exec("CREATE INDEX IF NOT EXISTS orders_created ON orders(created_at)");
    this.sql.exec(`CREATE TABLE IF NOT EXISTS fills (
      fill_id TEXT PRIMARY KEY, coid TEXT NOT NULL, venue TEXT NOT NULL, market TEXT NOT NULL, mode TEXT NOT NULL,
      strategy_id TEXT NOT NULL, side TEXT NOT NULL, quantity INTEGER NOT NULL, price TEXT NOT NULL, fee TEXT NOT NULL,
      ts TEXT NOT NULL, reported INTEGER NOT NULL DEFAULT 0)`);
    this.sql.exec("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)");
    // Orders that ended, for risk to release what they still reserve (pushed after their fills).
    this.sql.exec("CREATE TABLE IF NOT EXISTS ended (coid TEXT PRIMARY KEY)");
    // Facts the venue already made true (an outcome, a fill found by a poll) whose audit append failed: they
    // cannot be undone, so they are kept and appended later, in order, by the alarm.
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS audit_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL)",
    );
    // Failed trading calls per venue and error kind (monotonic counters, read by the monitor for alerts and metrics).
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS venue_errors (venue TEXT NOT NULL, kind TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (venue, kind))",
    );
  }

  /** Count one failed trading call (an order, a cancel, a positions read) against its venue and kind. */
  private countVenueError(venue: string, kind: string): void {
    this.sql.exec(
      "INSERT INTO venue_errors (venue, kind, n) VALUES (?, ?, 1) ON CONFLICT (venue, kind) DO UPDATE SET n = n + 1",
      venue,
      kind,
    );
  }

  /** Orders by state, trading-call errors by venue and kind, and the last reconciliation. */
  async monitorStats(): Promise<Result<ExecutionMonitorStats>> {
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
    const last = this.sql
      .exec<{ v: string }>("SELECT v FROM meta WHERE k = 'last_reconciliation'")
      .toArray()[0];
    return ok({
      ordersByState,
      venueErrors,
      lastReconciliation: last ? (JSON.parse(last.v) as ReconciliationReport) : null,
    });
  }

  async ping(): Promise<string> {
    this.sql.exec("SELECT 1").toArray();
    return "pong";
  }

  // ---- policy ----

  private policy(): ExecutionPolicyView {
    const row = this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'policy'").toArray()[0];
    return row ? (JSON.parse(row.v) as ExecutionPolicyView) : initialPolicy(new Date().toISOString());
  }

  async getPolicy(): Promise<Result<ExecutionPolicyView>> {
    return ok(this.policy());
  }

  async setPolicy(
    change: ExecutionPolicyChange,
    actor: Principal,
    receipt?: ApprovalReceiptRef,
  ): Promise<Result<ExecutionPolicyView>> {
    if (change.mode === "live") {
      if (!receipt)
        return err(
          ErrorCode.approvalRequired,
          "moving to live needs a two-person approval of execution.policy_live",
          {
            action: "execution.policy_live",
            payload: change,
          },
        );
      const redeemed = await rpc(
        this.env.GOVERNANCE,
        (governance) => governance.redeemReceipt(receipt, "execution.policy_live", change, actor),
        { what: "redeemReceipt", timeoutMs: RPC_TIMEOUT_MS },
      );
      if (!redeemed.ok) return redeemed;
    }
    const audited = await this.audit("execution.policy_changed", actor, {
      change,
      receipt: receipt?.requestId ?? null,
    });
    if (!audited.ok)
      return change.mode === "live" && receipt
        ? failedAfterRedeem(this.env.GOVERNANCE, receipt, audited.error, actor)
        : audited;
    // Read and write with no await between: a concurrent change cannot be lost.
    const next = applyPolicyChange(this.policy(), change, actor.subject, new Date().toISOString());
    this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('policy', ?)", JSON.stringify(next));
    return ok(next);
  }

  // ---- orders ----

  private row(coid: string): OrderRow | undefined {
    return this.sql.exec<OrderRow>("SELECT * FROM orders WHERE coid = ?", coid).toArray()[0];
  }

  private view(r: OrderRow): OrderView {
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

  /** Move an order through the state table; synchronous, so nothing interleaves between check and write. */
  private move(
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
    const now = new Date().toISOString();
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

  /** The outbox alarm is a storage write, ordered with the change that needs it; set once per push. */
  private armOutbox(): void {
    if (this.alarmArmed) return;
    this.alarmArmed = true;
    void this.ctx.storage.setAlarm(Date.now() + FILL_PUSH_DELAY_MS);
  }

  /** Store fills up to `totalFilled` (idempotent by cumulative quantity); `reportFills` tells risk. */
  private storeFills(coid: string, totalFilled: number, venuePrice: string | null, venueFee: string): void {
    const r = this.row(coid);
    // Counts are exact to 0.01 (Kalshi's granularity): compared and subtracted in hundredths, never truncated.
    const totalH = Math.round(totalFilled * 100);
    if (!r || totalH <= Math.round(r.filled * 100)) return;
    // Venues may send 6 decimals; risk takes 4. A fill count with no (usable) price: the limit is the worst
    // price it can have filled at, so risk counts it conservatively rather than not at all.
    const avgPrice = venueDollars(venuePrice, "half-up") ?? (JSON.parse(r.intent) as OrderIntent).limitPrice;
    const fee = venueDollars(venueFee, "ceil") ?? "0.0000";
    // Risk holds quantities in hundredths too: a 0.37-contract fill is reported as 0.37 and counted exactly.
    const qty = (totalH - Math.round(r.filled * 100)) / 100;
    const fillId = `${coid}:${totalFilled}`;
    const ts = new Date().toISOString();
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
    this.armOutbox();
  }

  /**
   * Fills reach risk through a durable outbox: stored with the order's state change, pushed by this alarm
   * 200 ms later (with every other fill stored meanwhile) and, while any is left unreported, again every 5 s
   * until risk accepts. An order's answer never waits on the portfolio update: risk counts a submitted
   * order's exposure until it ends, so the lag of a push cannot open room past its limits. Ended orders go
   * the same way (after every fill is in), so risk releases what they still reserve.
   */
  override async alarm(): Promise<void> {
    this.alarmArmed = false;
    while (await this.reportFills()) {}
    const fillsLeft = this.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM fills WHERE reported = 0")
      .one().n;
    // An ended order only once its own fills are in: releasing first would under-count the filled part.
    while (await this.reportEnded()) {}
    const auditsLeft = await this.flushAuditOutbox();
    const left =
      fillsLeft + auditsLeft + this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM ended").one().n;
    if (left > 0 && !this.alarmArmed) {
      this.alarmArmed = true;
      await this.ctx.storage.setAlarm(Date.now() + FILL_RETRY_MS);
    }
  }

  /**
   * Push unreported fills to risk in batches (`recordFills`); a fill risk did not accept stays for the next
   * run (risk dedups by fillId). Answers whether another batch may be waiting. If the batch call itself fails, each fill is tried alone (`recordFill`) so a
   * risk without the batch method still gets them, stopping at the first that fails.
   */
  private async reportFills(): Promise<boolean> {
    const pending = this.sql
      .exec<Record<string, SqlStorageValue>>(
        `SELECT * FROM fills WHERE reported = 0 ORDER BY rowid LIMIT ${FILL_BATCH}`,
      )
      .toArray();
    if (pending.length === 0) return false;
    const fills: FillReport[] = pending.map((f) => ({
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
    const accepted: string[] = [];
    const batch = await rpc(this.env.RISK, (risk) => risk.recordFills(fills), {
      what: "recordFills",
      timeoutMs: RPC_TIMEOUT_MS,
    });
    if (batch.ok) {
      for (const o of batch.value.fills) if (!o.error) accepted.push(o.fillId);
    } else {
      for (const fill of fills) {
        const res = await rpc(this.env.RISK, (risk) => risk.recordFill(fill), {
          what: "recordFill",
          timeoutMs: RPC_TIMEOUT_MS,
        });
        if (res.ok) accepted.push(fill.fillId);
        else if (res.error.code === ErrorCode.serviceUnavailable) break;
      }
    }
    for (const id of accepted) this.sql.exec("UPDATE fills SET reported = 1 WHERE fill_id = ?", id);
    // A full batch all accepted: more may be waiting.
    return pending.length === FILL_BATCH && accepted.length === FILL_BATCH;
  }

  /** Tell risk which orders ended (`releaseReservations`); answers whether another batch may be waiting. */
  private async reportEnded(): Promise<boolean> {
    const coids = this.sql
      .exec<{ coid: string }>(
        `SELECT coid FROM ended WHERE NOT EXISTS (SELECT 1 FROM fills WHERE fills.coid = ended.coid AND reported = 0) ORDER BY rowid LIMIT ${FILL_BATCH}`,
      )
      .toArray()
      .map((r) => r.coid);
    if (coids.length === 0) return false;
    const res = await rpc(this.env.RISK, (risk) => risk.releaseReservations(coids), {
      what: "releaseReservations",
      timeoutMs: RPC_TIMEOUT_MS,
    });
    if (!res.ok) return false; // kept for the next run
    for (const c of coids) this.sql.exec("DELETE FROM ended WHERE coid = ?", c);
    return coids.length === FILL_BATCH;
  }

  /**
   * Audit something that already happened at a venue. It cannot be refused (fail closed is not possible after
   * the fact), so a failed append, or one behind others still waiting, goes to the outbox and the alarm
   * appends them in order.
   */
  private async auditFact(type: string, actor: Principal, payload: unknown): Promise<void> {
    const event: AuditEventInput = { type, service: "execution", actor, payload: payload as JsonValue };
    const waiting = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM audit_outbox").one().n;
    if (waiting === 0 && (await auditAppend(this.env.AUDIT, event)).ok) return;
    this.sql.exec("INSERT INTO audit_outbox (event) VALUES (?)", JSON.stringify(event));
    console.error("execution: audit of a venue fact held in the outbox", type);
    this.armOutbox();
  }

  /** Append the held facts in order, up to 100 at a time; answers how many are left. */
  private async flushAuditOutbox(): Promise<number> {
    const rows = this.sql
      .exec<{ id: number; event: string }>("SELECT id, event FROM audit_outbox ORDER BY id LIMIT 100")
      .toArray();
    if (rows.length > 0) {
      const appended = await this.auditMany(rows.map((r) => JSON.parse(r.event) as AuditEventInput));
      if (appended.ok) this.sql.exec("DELETE FROM audit_outbox WHERE id <= ?", rows.at(-1)!.id);
    }
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM audit_outbox").one().n;
  }

  /** Append one event; the answer is the receipt `{ seq, hash }`, kept whole where it is stored. */
  private async audit(type: string, actor: Principal, payload: unknown): Promise<Result<AuditReceipt>> {
    const event: AuditEventInput = { type, service: "execution", actor, payload: payload as JsonValue };
    return auditAppend(this.env.AUDIT, event);
  }

  /** Submit with a decision obtained beforehand (`RISK.evaluateOrder`), consumed here once. */
  async submit(
    intent: OrderIntent,
    decisionId: string,
    actor: Principal,
    context?: OrderContext,
  ): Promise<Result<OrderSubmission>> {
    return this.run(intent, actor, context, decisionId, (intentHash) =>
      rpc(this.env.RISK, (risk) => risk.consumeForSubmit(decisionId, intentHash), {
        what: "consumeDecision",
        timeoutMs: RPC_TIMEOUT_MS,
      }),
    );
  }

  /**
   * Ask risk and submit in one call: risk evaluates and consumes the approval in one step, so the order path
   * makes one round to risk instead of two. A denial (or risk failing to decide) leaves no order.
   */
  async place(
    intent: OrderIntent,
    actor: Principal,
    context?: OrderContext,
  ): Promise<Result<OrderSubmission>> {
    return this.run(intent, actor, context, null, () =>
      rpc(this.env.RISK, (risk) => risk.evaluateAndConsume(intent, actor), {
        what: "evaluateAndConsume",
        timeoutMs: RPC_TIMEOUT_MS,
      }),
    );
  }

  /**
   * The one submission path. `decisionId` is null when risk decides during the call (`place`); then anything
   * short of an approval removes the claim row again: nothing was decided for it, nothing was sent.
   */
  private async run(
    intent: OrderIntent,
    actor: Principal,
    context: OrderContext | undefined,
    decisionId: string | null,
    decide: (intentHash: string) => Promise<Result<ConsumedDecision>>,
  ): Promise<Result<OrderSubmission>> {
    const intentHash = await canonicalHash(INTENT_HASH_DOMAIN, intent);
    // ---- no await from here until the row exists ----
    const existing = this.row(intent.clientOrderId);
    if (existing) {
      if (existing.intent_hash !== intentHash)
        return err(
          ErrorCode.conflict,
          `client order id ${intent.clientOrderId} is already used by a different intent`,
        );
      return ok({ order: this.view(existing), duplicate: true });
    }
    const mode = effectiveMode(this.policy(), intent.strategyId);
    // A venue that rate-limited us is left alone until its backoff ends: nothing is claimed, decided or sent.
    const waitMs = mode === "live" ? backoffLeftMs(this.backoff(intent.venue), Date.now()) : 0;
    if (waitMs > 0)
      return err(
        ErrorCode.rateLimited,
        `${intent.venue} rate-limited our orders: backing off, retry in ${Math.ceil(waitMs / 1000)} s`,
        {
          venue: intent.venue,
          retryAfterSeconds: Math.ceil(waitMs / 1000),
        },
      );
    const now = new Date().toISOString();
    this.sql.exec(
      `INSERT INTO orders (coid, intent, intent_hash, decision_id, strategy_id, venue, market, side, quantity, mode, state, context, created_at, updated_at, history)
       VALUES (?,?,?,?,?,?,?,?,?,?,'pending_submit',?,?,?,?)`,
      intent.clientOrderId,
      JSON.stringify(intent),
      intentHash,
      decisionId ?? "",
      intent.strategyId,
      intent.venue,
      intent.market,
      intent.side,
      intent.quantity,
      mode,
      context ? JSON.stringify(context) : null,
      now,
      now,
      JSON.stringify([{ state: "pending_submit", at: now, reason: null }]),
    );
    // ---- the claim is durable; now ask risk ----
    const coid = intent.clientOrderId;
    // A paper fill reads the book while risk answers (a read, not an action).
    // Risk reads the breaker in the same call and answers what it read (no `getBreaker` hop of our own).
    // The order's references and the market's compliance under the rules in force now are checked at the same
    // time, for every order (paper and live, manual and loop).
    const venue = intent.venue;
    const [claimed, book, preTrade] = await Promise.all([
      decide(intentHash),
      mode === "paper" && venue !== "ibkr"
        ? rpc(this.env.INGESTION, (ingestion) => ingestion.getOrderBook(venue, intent.market, 120), {
            what: "getOrderBook",
            timeoutMs: RPC_TIMEOUT_MS,
          })
        : null,
      this.preTrade(intent),
    ]);
    if (!preTrade.ok) {
      // Refused whatever risk said: an approval it consumed is released with the ended order (the outbox).
      if (claimed.ok && claimed.value.decision.approved)
        this.sql.exec(
          "UPDATE orders SET decision = ?, decision_id = ? WHERE coid = ?",
          JSON.stringify(claimed.value.decision),
          claimed.value.decision.decisionId,
          coid,
        );
      return this.refuse(coid, actor, preTrade.code, preTrade.message, true, preTrade.details);
    }
    if (decisionId === null && (!claimed.ok || !claimed.value.decision.approved)) {
      // Risk may have decided and reserved without us hearing it (a timeout, a dropped connection): then the
      // order ends as rejected, so the outbox tells risk to release whatever it reserved under this id.
      if (!claimed.ok && !DECIDED_NOTHING.has(claimed.error.code))
        return this.refuse(coid, actor, claimed.error.code, `risk did not answer: ${claimed.error.message}`);
      this.sql.exec("DELETE FROM orders WHERE coid = ? AND state = 'pending_submit'", coid);
      if (!claimed.ok) return claimed;
      const d = claimed.value.decision;
      return err(ErrorCode.riskDenied, d.reasons.map((r) => r.message).join("; ") || "denied", {
        decisionId: d.decisionId,
        reasons: d.reasons,
      });
    }
    if (!claimed.ok) {
      // Risk refused an opening decision because it read HALT: say so, as our own check below would.
      return this.refuse(
        coid,
        actor,
        claimed.error.code === ErrorCode.breakerHalted ? ErrorCode.breakerHalted : ErrorCode.riskDenied,
        `decision refused: ${claimed.error.code}: ${claimed.error.message}`,
      );
    }
    const consumedDecision = claimed.value.decision;
    // The consumed decision is stored with the next state change (one storage commit, not one per step).
    const decision = JSON.stringify(consumedDecision);
    const storeDecision = () =>
      this.sql.exec(
        "UPDATE orders SET decision = ?, decision_id = ? WHERE coid = ?",
        decision,
        consumedDecision.decisionId,
        coid,
      );
    const refuse = (code: string, message: string, audit = true) => {
      storeDecision();
      return this.refuse(coid, actor, code, message, audit);
    };
    if (!consumedDecision.approved || consumedDecision.intentHash !== intentHash) {
      return refuse(ErrorCode.riskDenied, "decision does not approve this exact intent");
    }
    const opening = intent.effect === "open" || intent.effect === "increase";
    // Risk already refuses an opening decision it consumed in HALT; checked here too (defence in depth).
    const breaker = claimed.value.breaker;
    if (!breaker || typeof breaker.state !== "string")
      return refuse(ErrorCode.serviceUnavailable, "breaker state unknown: risk did not answer it");
    if (breaker.state === "HALT" && opening)
      return refuse(ErrorCode.breakerHalted, "circuit breaker is HALT: opening orders are refused");

    const submitted: AuditEventInput = {
      type: "execution.order_submitted",
      service: "execution",
      actor,
      payload: {
        clientOrderId: coid,
        intent,
        intentHash,
        decisionId: consumedDecision.decisionId,
        mode,
        context: context ?? null,
        compliance: preTrade.record,
      } as unknown as JsonValue,
    };
    if (mode === "paper") {
      // Paper: nothing leaves, so the outcome is known before anything is recorded. The submission and its
      // outcome are appended together, atomically (all or none), and only then applied: an audit failure
      // leaves the order rejected with nothing filled.
      const plan = this.planPaper(intent, book);
      const audited = await this.auditMany([
        submitted,
        {
          type: "execution.order_outcome",
          service: "execution",
          actor,
          payload: {
            clientOrderId: coid,
            state: plan.state,
            filled: plan.filled,
            avgPrice: plan.filled > 0 ? plan.avgPrice : null,
            venueOrderId: null,
            reason: plan.reason,
          },
        },
      ]);
      if (!audited.ok) return refuse(ErrorCode.auditUnavailable, audited.error.message, false);
      storeDecision();
      this.move(coid, plan.state, plan.reason);
      this.storeFills(coid, plan.filled, plan.avgPrice, plan.fee);
      return ok({ order: this.view(this.row(coid)!), duplicate: false });
    }

    // Live: the submission is recorded before anything is sent; the outcome after the venue answered.
    const audited = await this.audit(submitted.type, actor, submitted.payload);
    if (!audited.ok) return refuse(ErrorCode.auditUnavailable, audited.error.message, false);
    // The policy is read again with no await before the send: a switch to paper (the kill switch) made while
    // this order waited for risk or the audit stops it here.
    if (effectiveMode(this.policy(), intent.strategyId) !== "live")
      return refuse(
        ErrorCode.conflict,
        "the execution policy moved to paper while this order was decided: nothing sent",
      );
    if (this.row(coid)?.state !== "pending_submit")
      return err(ErrorCode.conflict, `order ${coid} was ended while it was decided: nothing sent`);
    storeDecision();
    await this.executeLive(coid, intent, actor);

    const final = this.row(coid)!;
    await this.auditFact("execution.order_outcome", actor, {
      clientOrderId: coid,
      state: final.state,
      filled: final.filled,
      avgPrice: final.avg_price,
      venueOrderId: final.venue_order_id,
      reason: final.reason,
    });
    return ok({ order: this.view(final), duplicate: false });
  }

  /** Append events atomically (all or none); every failure is `audit_unavailable`-like, as `auditAppend`. */
  private async auditMany(events: AuditEventInput[]): Promise<Result<{ seqs: number[] }>> {
    const res = await rpc(this.env.AUDIT, (audit) => audit.appendMany(events), {
      what: "audit append",
      timeoutMs: RPC_TIMEOUT_MS,
      code: ErrorCode.auditUnavailable,
    });
    return res.ok ? ok({ seqs: res.value.map((r) => r.seq) }) : res;
  }

  private async refuse(
    coid: string,
    actor: Principal,
    code: string,
    message: string,
    audit = true,
    details: Record<string, unknown> = {},
  ): Promise<Result<OrderSubmission>> {
    this.move(coid, "rejected", message);
    if (audit)
      await this.audit("execution.order_refused", actor, { clientOrderId: coid, code, reason: message });
    return err(code, message, { clientOrderId: coid, ...details });
  }

  /** The order's strategy and evidence exist, and its market's compliance verdict now (see pre-trade.ts). */
  private async preTrade(intent: OrderIntent) {
    const [strategy, check] = await Promise.all([
      rpc(this.env.GOVERNANCE, (governance) => governance.getStrategy(intent.strategyId), {
        what: "getStrategy",
        timeoutMs: RPC_TIMEOUT_MS,
      }),
      rpc(
        this.env.INGESTION,
        (ingestion) => ingestion.preTradeCheck(intent.venue, intent.market, intent.evidenceHashes),
        { what: "preTradeCheck", timeoutMs: RPC_TIMEOUT_MS },
      ),
    ]);
    return preTradeVerdict(intent, strategy, check);
  }

  /**
   * The paper outcome of an intent against the book read beforehand (pure: nothing is written). IOC: the
   * crossed part fills, the rest is cancelled.
   */
  private planPaper(
    intent: OrderIntent,
    book: Result<OrderBookSnapshot> | null,
  ): { state: OrderState; reason: string; filled: number; avgPrice: string | null; fee: string } {
    if (intent.venue === "ibkr") {
      // No ingested IBKR book: paper hedges fill at their limit (documented approximation), charged the
      // commission schedule a live fill would pay, never nothing.
      return {
        state: "filled",
        reason: "paper fill at limit (no IBKR book)",
        filled: intent.quantity,
        avgPrice: intent.limitPrice,
        fee: formatDollars(
          worstCaseFee("ibkr", parseQuantity(intent.quantity), parseDollars(intent.limitPrice)),
          4,
          "ceil",
        ),
      };
    }
    if (!book?.ok) {
      return {
        state: "rejected",
        reason: `paper: no book: ${book ? book.error.message : "not fetched"}`,
        filled: 0,
        avgPrice: null,
        fee: "0.0000",
      };
    }
    const f = paperFill(
      book.value,
      intent.side,
      intent.quantity,
      intent.limitPrice,
      intent.venue === "kalshi",
    );
    return {
      state: stateForFills(intent.quantity, f.filled, false),
      reason:
        f.filled < intent.quantity
          ? `paper IOC: ${f.filled}/${intent.quantity} crossed, rest cancelled (book ${book.value.evidenceHash})`
          : `paper fill (book ${book.value.evidenceHash})`,
      filled: f.filled,
      avgPrice: f.avgPrice,
      fee: f.fee,
    };
  }

  private clients(actor: Principal, coid?: string) {
    return venueClients(this.env, async (q) => {
      const audited = await this.audit(
        q.confirmed ? "execution.ibkr_question_confirmed" : "execution.ibkr_question_refused",
        actor,
        { clientOrderId: coid ?? null, message: q.message },
      );
      return audited.ok;
    });
  }

  private backoff(venue: Venue): Backoff | null {
    const row = this.sql
      .exec<{ v: string }>("SELECT v FROM meta WHERE k = ?", `backoff:${venue}`)
      .toArray()[0];
    return row ? (JSON.parse(row.v) as Backoff) : null;
  }

  /**
   * Every trading request goes through here. While a venue's backoff runs, nothing is sent to it (the call
   * answers `rate_limited` at once). A 429 starts or doubles the backoff and counts toward the breaker as a
   * trading-API failure (`venue_order_error`); a successful call ends the streak.
   */
  private async toVenue<T>(venue: Venue, call: () => Promise<VenueResult<T>>): Promise<VenueResult<T>> {
    const waitMs = backoffLeftMs(this.backoff(venue), Date.now());
    if (waitMs > 0)
      return verr(
        "rate_limited",
        `${venue} rate-limited us: backing off ${Math.ceil(waitMs / 1000)} s more, nothing sent`,
      );
    const r = await call();
    // Counted for monitoring by venue and kind (a venue that is simply not configured is no venue error).
    if (!r.ok && r.error.kind !== "not_configured") this.countVenueError(venue, r.error.kind);
    const previous = this.backoff(venue);
    if (r.ok) {
      if (previous) this.sql.exec("DELETE FROM meta WHERE k = ?", `backoff:${venue}`);
    } else if (r.error.kind === "rate_limited") {
      const now = Date.now();
      const next = afterRateLimit(previous, now);
      this.sql.exec(
        "INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)",
        `backoff:${venue}`,
        JSON.stringify(next),
      );
      await rpc(
        this.env.RISK,
        (risk) =>
          risk.reportFailure(
            "venue_order_error",
            `${venue} rate-limited a trading request (429 #${next.streak} in a row; backing off ${(next.untilMs - now) / 1000} s): ${r.error.message}`.slice(
              0,
              500,
            ),
            { method: "system", subject: "execution" },
          ),
        { what: "reportFailure", timeoutMs: RPC_TIMEOUT_MS },
      );
    }
    return r;
  }

  private async venueFailure(coid: string, e: VenueError): Promise<void> {
    if (e.kind === "outcome_unknown") {
      this.move(coid, "unknown", `outcome unknown: ${e.message}`);
    } else if (e.kind === "duplicate") {
      // The venue already holds this id (an earlier attempt whose answer we lost): look it up, never resend.
      this.move(coid, "unknown", `venue reports duplicate id: ${e.message}`);
    } else {
      this.move(coid, "rejected", `${e.kind}: ${e.message}`);
    }
    if (
      e.kind === "outcome_unknown" ||
      e.kind === "unavailable" ||
      e.kind === "auth" ||
      e.kind === "invalid_response"
    ) {
      await rpc(
        this.env.RISK,
        (risk) =>
          risk.reportFailure("venue_order_error", `${e.kind}: ${e.message}`, {
            method: "system",
            subject: "execution",
          }),
        { what: "reportFailure", timeoutMs: RPC_TIMEOUT_MS },
      );
    }
  }

  /**
   * A live venue call went through: execution's order-error count starts again (only it may reset it). Not
   * awaited: the order's answer does not wait on bookkeeping (`safe` never throws).
   */
  private venueAnswered(): void {
    void rpc(this.env.RISK, (risk) => risk.reportSuccess("venue_order_error"), {
      what: "reportSuccess",
      timeoutMs: RPC_TIMEOUT_MS,
    });
  }

  private async executeLive(coid: string, intent: OrderIntent, actor: Principal): Promise<void> {
    this.sending.add(coid);
    try {
      await this.sendLive(coid, intent, actor);
    } finally {
      this.sending.delete(coid);
    }
  }

  private async sendLive(coid: string, intent: OrderIntent, actor: Principal): Promise<void> {
    const { kalshi, ibkr } = this.clients(actor, coid);
    if (intent.venue === "kalshi") {
      const r = await this.toVenue("kalshi", () =>
        kalshi.createOrder({
          ticker: intent.market,
          clientOrderId: coid,
          side: intent.side,
          count: intent.quantity,
          price: intent.limitPrice,
          timeInForce: "immediate_or_cancel",
        }),
      );
      if (!r.ok) return this.venueFailure(coid, r.error);
      const to = stateForFills(intent.quantity, r.value.filled, false);
      this.move(coid, to, null, { venue_order_id: r.value.orderId });
      // No fee in the answer: the schedule's worst case for what filled, never zero.
      const fee =
        r.value.fee ??
        formatDollars(
          worstCaseFee(
            "kalshi",
            parseQuantity(r.value.filled),
            parseDollars(r.value.avgPrice ?? intent.limitPrice),
          ),
          4,
          "ceil",
        );
      this.storeFills(coid, r.value.filled, r.value.avgPrice, fee);
      this.venueAnswered();
      return;
    }
    if (intent.venue === "ibkr") {
      const conid = Number(intent.market);
      if (!Number.isInteger(conid)) {
        this.move(coid, "rejected", `IBKR market must be a conid, got ${intent.market}`);
        return;
      }
      const r = await this.toVenue("ibkr", () =>
        ibkr.placeOrder({
          conid,
          side: intent.side,
          quantity: intent.quantity,
          price: intent.limitPrice,
          cOID: coid,
        }),
      );
      if (!r.ok) return this.venueFailure(coid, r.error);
      this.move(coid, "submitted", `IBKR ${r.value.status}`, { venue_order_id: r.value.orderId });
      this.venueAnswered();
      return;
    }
    this.move(coid, "rejected", "Polymarket is market data only: no trading client");
  }

  /**
   * Apply what the venue says about one live order (used for unknown and open orders). A sweep passes one set
   * of clients for all its orders, so IBKR's live orders and trades are read once per sweep.
   */
  private async refreshLive(
    r: OrderRow,
    actor: Principal,
    nowMs: number,
    venues = this.clients(actor, r.coid),
  ): Promise<"resolved" | "pending"> {
    const { kalshi, ibkr } = venues;
    if (r.venue === "kalshi") {
      const found = await this.toVenue("kalshi", () => kalshi.findByClientOrderId(r.market, r.coid));
      if (!found.ok) return "pending";
      if (!found.value) return this.notAtVenue(r, nowMs);
      const o = found.value;
      const to = stateForFills(r.quantity, o.filled, o.status === "resting");
      this.move(r.coid, to, `resolved at venue: ${o.status}`, { venue_order_id: o.orderId });
      this.storeFills(r.coid, o.filled, o.avgPrice, o.fee ?? "0.0000");
      return "resolved";
    }
    if (r.venue === "ibkr") {
      const found = await this.toVenue("ibkr", () => ibkr.lookup(r.coid));
      if (!found.ok) return "pending";
      if (!found.value) return this.notAtVenue(r, nowMs);
      const o = found.value;
      const step = ibkrStep(r.quantity, o);
      this.move(r.coid, step.state, step.reason, o.orderId ? { venue_order_id: o.orderId } : {});
      if (o.fills.quantity > 0 && o.fills.avgPrice) {
        // The executions' commission; when an execution does not report one, the schedule's worst case.
        const fee =
          o.fills.fee ??
          formatDollars(
            worstCaseFee("ibkr", parseQuantity(o.fills.quantity), parseDollars(o.fills.avgPrice)),
            4,
            "ceil",
          );
        this.storeFills(r.coid, o.fills.quantity, o.fills.avgPrice, fee);
      }
      return "resolved";
    }
    return "pending";
  }

  private notAtVenue(r: OrderRow, nowMs: number): "resolved" | "pending" {
    if (r.state !== "unknown" || nowMs - Date.parse(r.updated_at) < UNKNOWN_GRACE_MS) return "pending";
    this.move(r.coid, "rejected", "not found at the venue after the grace period: never accepted");
    return "resolved";
  }

  async resolveUnknown(actor: Principal): Promise<Result<{ resolved: number; stillUnknown: number }>> {
    // A live order whose submission was audited (decision stored) but which never left pending_submit was being
    // sent when this object restarted: it may be at the venue, so it is unknown and looked up, never re-sent.
    const stale = new Date(Date.now() - STALE_PENDING_MS).toISOString();
    for (const r of this.sql
      .exec<{ coid: string }>(
        "SELECT coid FROM orders WHERE mode = 'live' AND state = 'pending_submit' AND decision IS NOT NULL AND updated_at < ?",
        stale,
      )
      .toArray())
      if (!this.sending.has(r.coid))
        this.move(r.coid, "unknown", "was being sent when the order manager restarted");
    // A claim cut off before its decision was stored never reached a venue: it ends, and risk is told to
    // release what it may have reserved (the ended-order outbox).
    const abandoned = new Date(Date.now() - ABANDONED_CLAIM_MS).toISOString();
    const cutOff = "cut off before risk's decision was stored (a restart): nothing sent";
    for (const r of this.sql
      .exec<{ coid: string }>(
        "SELECT coid FROM orders WHERE state = 'pending_submit' AND decision IS NULL AND updated_at < ?",
        abandoned,
      )
      .toArray()) {
      this.move(r.coid, "rejected", cutOff);
      await this.auditFact("execution.order_outcome", actor, {
        clientOrderId: r.coid,
        state: "rejected",
        filled: 0,
        avgPrice: null,
        venueOrderId: null,
        reason: cutOff,
      });
    }
    const rows = this.sql
      .exec<OrderRow>(
        "SELECT * FROM orders WHERE mode = 'live' AND state IN ('unknown', 'submitted', 'partially_filled') ORDER BY created_at LIMIT 200",
      )
      .toArray();
    let resolved = 0;
    const venues = this.clients(actor);
    for (const r of rows) {
      if (this.sending.has(r.coid)) continue; // its send will say how it went
      const was = r.state;
      const outcome = await this.refreshLive(r, actor, Date.now(), venues);
      if (outcome !== "resolved") continue;
      if (was === "unknown") resolved++;
      // Every change the venue reports is audited: an unknown order found, and an open order that filled,
      // was cancelled or expired.
      const now = this.row(r.coid)!;
      if (was === "unknown" || now.state !== was || now.filled !== r.filled)
        await this.auditFact(
          was === "unknown" ? "execution.order_resolved" : "execution.order_updated",
          actor,
          {
            clientOrderId: r.coid,
            from: was,
            state: now.state,
            filled: now.filled,
            avgPrice: now.avg_price,
            venueOrderId: now.venue_order_id,
          },
        );
    }
    const still = this.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM orders WHERE state = 'unknown'")
      .one().n;
    return ok({ resolved, stillUnknown: still });
  }

  async getOrder(coid: string): Promise<Result<OrderView>> {
    const r = this.row(coid);
    return r ? ok(this.view(r)) : err(ErrorCode.notFound, `no order ${coid}`);
  }

  async listOrders(q: OrderQuery): Promise<Result<{ orders: OrderView[] }>> {
    const rows = this.sql
      .exec<OrderRow>(
        "SELECT * FROM orders WHERE (? IS NULL OR state = ?) AND (? IS NULL OR strategy_id = ?) ORDER BY created_at DESC, coid LIMIT ?",
        q.state ?? null,
        q.state ?? null,
        q.strategyId ?? null,
        q.strategyId ?? null,
        q.limit ?? 100,
      )
      .toArray();
    return ok({ orders: rows.map((r) => this.view(r)) });
  }

  async cancel(coid: string, actor: Principal): Promise<Result<OrderView>> {
    const r = this.row(coid);
    if (!r) return err(ErrorCode.notFound, `no order ${coid}`);
    if (isTerminal(r.state as OrderState))
      return err(ErrorCode.conflict, `order ${coid} is already ${r.state}`);
    if (r.state === "pending_submit")
      return err(ErrorCode.conflict, `order ${coid} is being submitted; retry shortly`);
    const audited = await this.audit("execution.order_cancel_requested", actor, {
      clientOrderId: coid,
      state: r.state,
    });
    if (!audited.ok) return audited;
    if (r.mode === "paper") {
      const moved = this.move(coid, "cancelled", `cancelled by ${actor.subject}`);
      return moved.ok ? ok(this.view(moved.value)) : moved;
    }
    if (r.state === "unknown") {
      // Never cancel blind: learn the venue order id first.
      await this.refreshLive(r, actor, Date.now());
    }
    const fresh = this.row(coid)!;
    if (isTerminal(fresh.state as OrderState)) return ok(this.view(fresh));
    if (!fresh.venue_order_id)
      return err(ErrorCode.conflict, `order ${coid} has no venue order id yet (state ${fresh.state})`);
    const { kalshi, ibkr } = this.clients(actor, coid);
    const venueOrderId = fresh.venue_order_id;
    const c =
      fresh.venue === "kalshi"
        ? await this.toVenue("kalshi", () => kalshi.cancelOrder(venueOrderId))
        : await this.toVenue("ibkr", () => ibkr.cancelOrder(venueOrderId));
    if (!c.ok)
      return err(
        c.error.kind === "rate_limited" ? ErrorCode.rateLimited : ErrorCode.upstreamError,
        `venue refused the cancel: ${c.error.kind}: ${c.error.message}`,
      );
    await this.refreshLive(this.row(coid)!, actor, Date.now());
    const after = this.row(coid)!;
    // Ended only when the venue says so (IBKR answers PendingCancel first): a fill racing the cancel must still
    // be learnt, so the order stays open and is polled until the venue reports it cancelled or filled.
    if (!isTerminal(after.state as OrderState))
      this.sql.exec(
        "UPDATE orders SET reason = ? WHERE coid = ?",
        `cancel requested by ${actor.subject}; awaiting the venue's confirmation`,
        coid,
      );
    return ok(this.view(this.row(coid)!));
  }

  // ---- positions and reconciliation ----

  private positions(): ExecutionPosition[] {
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

  async getPositions(): Promise<Result<{ positions: ExecutionPosition[] }>> {
    return ok({ positions: this.positions() });
  }

  /**
   * Live orders that may be at the venue with their outcome not known yet: being sent (`pending_submit` with its
   * decision stored; after a restart, until the sweep calls it `unknown` 30 s later), `unknown`, or open.
   */
  private inFlight(): InFlightOrder[] {
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

  /** What execution expects each live market's venue position to be, now. */
  private expectedNow() {
    return expectedPositions(
      this.positions().filter((p) => p.mode === "live"),
      this.inFlight(),
    );
  }

  async reconcile(actor: Principal): Promise<Result<ReconciliationReport>> {
    await this.resolveUnknown(actor);
    const tolerance = Math.max(0, Math.trunc(Number(this.env.RECON_TOLERANCE ?? "0")) || 0);
    const { kalshi, ibkr } = this.clients(actor);
    const venues: ReconciliationReport["venues"] = [];
    const venuePositions: { venue: Venue; market: string; position: number }[] = [];
    const checked = new Set<Venue>();
    // Read before and after the venues answer: an order sent or filled meanwhile may or may not be in their figures.
    const before = this.expectedNow();
    for (const [venue, client] of [
      ["kalshi", kalshi],
      ["ibkr", ibkr],
    ] as const) {
      const r = await this.toVenue(venue, () => client.positions());
      if (r.ok) {
        checked.add(venue);
        venues.push({ venue, status: "ok" });
        for (const p of r.value) venuePositions.push({ venue, ...p });
      } else if (r.error.kind === "not_configured") {
        venues.push({ venue, status: "not_configured", detail: r.error.message });
      } else {
        venues.push({ venue, status: "unavailable", detail: `${r.error.kind}: ${r.error.message}` });
        // A 429 was counted where it happened (or nothing was sent during a backoff).
        if (r.error.kind !== "rate_limited")
          await rpc(
            this.env.RISK,
            (risk) =>
              risk.reportFailure(
                "venue_order_error",
                `reconciliation: ${venue} positions: ${r.error.message}`,
                actor,
              ),
            { what: "reportFailure", timeoutMs: RPC_TIMEOUT_MS },
          );
      }
    }
    const expected = new Map(
      [...joinExpected(before, this.expectedNow())].filter(([, e]) => checked.has(e.venue)),
    );
    const inFlight = [...expected.values()].reduce((n, e) => n + e.inFlight, 0);
    const { drifts, markets } = computeDrift(expected, venuePositions, tolerance);
    let reported = 0;
    for (const d of drifts) {
      const range = d.inFlight
        ? ` expected=${d.expectedMin}..${d.expectedMax} (${d.inFlight} in flight)`
        : "";
      const detail = `${d.venue}:${d.market} internal=${d.internal}${range} venue=${d.venuePosition} drift=${d.drift} tolerance=${tolerance}`;
      const res = await rpc(
        this.env.RISK,
        (risk) => risk.reportFailure("reconciliation_drift", detail, actor),
        { what: "reportFailure", timeoutMs: RPC_TIMEOUT_MS },
      );
      if (res.ok) reported++;
    }
    const at = new Date().toISOString();
    const audited = await this.audit("execution.reconciliation", actor, {
      at,
      tolerance,
      venues,
      markets,
      drifts: drifts as unknown as JsonValue,
      reported,
      inFlight,
    } as unknown as JsonValue);
    if (!audited.ok) return audited;
    const report: ReconciliationReport = {
      at,
      tolerance,
      venues,
      markets,
      drifts,
      reported,
      auditSeq: audited.value.seq,
      inFlight,
      auditHash: audited.value.hash,
    };
    this.sql.exec(
      "INSERT OR REPLACE INTO meta (k, v) VALUES ('last_reconciliation', ?)",
      JSON.stringify(report),
    );
    return ok(report);
  }

  /** Internal signed position in one market (all modes), for the loop's effect and sizing. */
  /** A strategy's filled position in one market and mode (risk checks effects per strategy too). */
  async positionIn(venue: Venue, market: string, mode: ExecutionMode, strategyId: string): Promise<number> {
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

  /** The mode a strategy's next order would use. */
  async modeFor(strategyId: string): Promise<ExecutionMode> {
    return effectiveMode(this.policy(), strategyId);
  }
}

export type { PositionDrift };
