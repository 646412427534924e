import { DurableObject } from "cloudflare:workers";
import {
  type ApprovalReceiptRef,
  type AuditReceipt,
  type BreakerState,
  type CapitalChange,
  type CapitalView,
  type DecisionCounters,
  type DecisionQuery,
  type DecisionSummary,
  ErrorCode,
  err,
  type FillOutcome,
  type FillReport,
  INTENT_HASH_DOMAIN,
  type JsonValue,
  type MarkUpdate,
  type OrderIntent,
  ok,
  type Principal,
  type Result,
  type RiskDecision,
  type RiskDryRun,
  type RiskExposure,
  RiskLimits,
  type RiskLimitsView,
  type Venue,
} from "@paulp/contracts";
import {
  auditAppend,
  canonicalHash,
  formatDollars,
  formatPct,
  orNull,
  parseDollars,
  RedeemedButNotApplied,
  randomId,
  settleRedemption,
} from "@paulp/kit";
import * as v from "valibot";
import {
  DECISION_LOG_PREFIX,
  DECISION_LOG_SIZE,
  type DecisionLogState,
  decisionLogKey,
  emptyDecisionLog,
  logDecision,
  queryDecisionLog,
} from "./decision-log";
import type { Env } from "./env";
import { type Evaluation, evaluateIntent, lossBreach } from "./evaluate";
import { exposureReport } from "./exposure";
import { exposureDetail } from "./exposure-detail";
import { applyFillEverywhere } from "./fills";
import { type LossLimits, type ParsedLimits, parseLimits } from "./limit-rules";
import { DEFAULT_LIMITS, raisedLimits, strictestLossLimits } from "./limits";
import { applyMarksEverywhere } from "./marks";
import {
  applyCapitalChange,
  emptyPortfolio,
  type Mark,
  marketKey,
  type PortfolioState,
  type Position,
  updateWatermarks,
  utcDay,
  valuation,
} from "./portfolio";
import {
  emptyReceiptSample,
  offerReceipt,
  RECEIPT_PREFIX,
  type ReceiptSample,
  receiptSampleFrom,
  receiptsToCheck,
} from "./receipt-sample";
import { redeemApproval } from "./redeem";
import { SerialQueue } from "./serial";
import { upgradeUnits } from "./units";
import { buildView, moveReservationInView, type Reservation, type RiskView, reserveInView } from "./view";

/** How long an approved decision can be consumed, and how long its reservation counts if it is not. */
export const DECISION_TTL_MS = 30_000;
/**
 * How long a consumed decision's reservation counts at most: the order may rest at the venue (an IBKR DAY
 * order lives until the session ends), so it is held until execution says the order ended
 * (`releaseReservations`) or its fills cover it; this is only the backstop if that word never comes, and
 * erring long only over-counts exposure (denies more), never under-counts.
 */
export const SUBMITTED_RESERVATION_MS = 24 * 3600_000;
/** How long a client order id stays taken. */
const CLIENT_ID_TTL_MS = 24 * 3600_000;
/** Expired decisions are kept this long (for a clear "expired" answer), then dropped. */
const DECISION_KEEP_MS = 10 * 60_000;

/** How `evaluate` acts on its answer. */
export type EvaluationMode = "dry_run" | "record" | "consume";

interface StoredDecision {
  decision: RiskDecision;
  opensRisk: boolean;
  used: boolean;
}

/** Storage key prefix of one market's mark (`mark:venue:market`). */
const MARK_PREFIX = "mark:";
/** Storage key prefix of one open position (`pos:strategy|venue:market`). */
const POSITION_PREFIX = "pos:";
/** Storage key prefix of one applied fill id (`fid:<fillId>`, value: when it was applied). */
const FILL_ID_PREFIX = "fid:";
/**
 * How long an applied fill id is kept to refuse a duplicate. Execution retries an unacknowledged fill every
 * few seconds until risk accepts it, so a duplicate arrives within seconds of the original; a week is ample.
 */
export const FILL_ID_KEEP_MS = 7 * 24 * 3600_000;
/** A storage `put` takes at most this many keys. */
const MAX_KEYS_PER_PUT = 128;

/**
 * Short-lived order state (bounded by the decision TTL and the one-minute rate window). Each reservation has
 * its own key (`rsv:<decisionId>`), so an approval writes only its own; the approval times are not stored
 * apart: every approval also writes its client order id (`cid:`, value: when), and the last minute of those
 * is the rate window after a restart.
 */
interface OrderBook {
  reservations: Record<string, Reservation>;
  approvals: number[];
}

/** Storage key prefix of one reservation (`rsv:<decisionId>`). */
const RESERVATION_PREFIX = "rsv:";
/** The rate-limit window. */
const RATE_WINDOW_MS = 60_000;

/**
 * The stored limits parsed, or null when they do not (a corrupted record, one written by a newer version): the
 * governor then denies every order and its loss checks fall back to the strictest defaults. Never throws, so a
 * bad record cannot stop the Durable Object from loading.
 */
function parseStoredLimits(stored: RiskLimitsView): ParsedLimits | null {
  try {
    const limits = v.safeParse(RiskLimits, stored.limits);
    return limits.success && Number.isSafeInteger(stored.version)
      ? parseLimits(limits.output, stored.version)
      : null;
  } catch {
    return null;
  }
}

/** A change of portfolio state that may have broken a loss limit (the caller sends the breaker to HALT). */
export interface StateChange<T> {
  value: T;
  breach: Evaluation["breach"];
}

/**
 * Portfolio state, limits and decisions, one instance ("portfolio"). Evaluations that act are serialised:
 * two orders approved concurrently could otherwise each fit a limit that together they break.
 */
export class RiskGovernor extends DurableObject<Env> {
  private portfolio!: PortfolioState;
  private limits!: RiskLimitsView;
  private parsed: ParsedLimits | null = null;
  private orders: OrderBook = { reservations: {}, approvals: [] };
  /** Approved client order ids and when, each its own `cid:` key so a busy day does not grow one value. */
  private clientIds = new Map<string, number>();
  private decisions = new Map<string, StoredDecision>();
  private view: RiskView | null = null;
  private readonly queue = new SerialQueue();
  /** Receipts of this governor's audit appends, checked against the chain by the audit watch. */
  private receipts: ReceiptSample = emptyReceiptSample();
  /** Counters of every recorded decision, and the newest DECISION_LOG_SIZE of them (oldest first). */
  private decisionLog: DecisionLogState = emptyDecisionLog();
  private recentLog: { seq: number; entry: DecisionSummary }[] = [];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      const equity =
        env.STARTING_EQUITY === undefined ? null : orNull(() => parseDollars(env.STARTING_EQUITY!));
      this.portfolio =
        (await ctx.storage.get<PortfolioState>("portfolio")) ??
        emptyPortfolio(equity !== null && equity > 0 ? equity : null);
      // Marks, positions and applied fill ids live under their own keys: thousands of them would overflow one
      // value and make every fill rewrite all of them. A portfolio stored before that carries positions and
      // fill ids inline; they are moved out here, once.
      const legacyPositions = this.portfolio.positions ?? {};
      const legacyFillIds = this.portfolio.fillIds ?? {};
      this.portfolio.marks = {};
      for (const [key, mark] of await ctx.storage.list<Mark>({ prefix: MARK_PREFIX })) {
        this.portfolio.marks[key.slice(MARK_PREFIX.length)] = mark;
      }
      this.portfolio.positions = {};
      for (const [key, pos] of await ctx.storage.list<Position>({ prefix: POSITION_PREFIX })) {
        this.portfolio.positions[key.slice(POSITION_PREFIX.length)] = pos;
      }
      // Kept in the order applied, so pruning can stop at the first id still kept.
      const fids = [...(await ctx.storage.list<number>({ prefix: FILL_ID_PREFIX }))].sort(
        (a, b) => a[1] - b[1],
      );
      this.portfolio.fillIds = {};
      for (const [key, t] of fids) this.portfolio.fillIds[key.slice(FILL_ID_PREFIX.length)] = t;
      const legacy = Object.keys(legacyPositions).length + Object.keys(legacyFillIds).length;
      if (legacy > 0) {
        const now = Date.now();
        const writes: Record<string, unknown> = {};
        for (const [key, pos] of Object.entries(legacyPositions)) {
          this.portfolio.positions[key] = pos;
          writes[`${POSITION_PREFIX}${key}`] = pos;
        }
        // The inline ids carry the fill's own time, not when it was applied: keep them a full period from now.
        for (const id of Object.keys(legacyFillIds)) {
          this.portfolio.fillIds[id] = now;
          writes[`${FILL_ID_PREFIX}${id}`] = now;
        }
        writes.portfolio = this.portfolioRecord();
        await this.putAll(writes, []);
      }
      this.limits = (await ctx.storage.get<RiskLimitsView>("limits")) ?? {
        version: 1,
        limits: DEFAULT_LIMITS,
        updatedAt: new Date(0).toISOString(),
        updatedBy: "default",
      };
      this.parsed = parseStoredLimits(this.limits);
      // Maps kept in time order, so pruning can stop at the first entry still alive.
      const cids = [...(await ctx.storage.list<number>({ prefix: "cid:" }))].sort((a, b) => a[1] - b[1]);
      for (const [key, t] of cids) this.clientIds.set(key.slice(4), t);
      const loadedAt = Date.now();
      for (const [key, r] of await ctx.storage.list<Reservation>({ prefix: RESERVATION_PREFIX }))
        this.orders.reservations[key.slice(RESERVATION_PREFIX.length)] = r;
      // Every approval wrote its client id with its time: the last minute of those is the rate window.
      for (const t of this.clientIds.values())
        if (t > loadedAt - RATE_WINDOW_MS) this.orders.approvals.push(t);
      // Before reservations had their own keys they were stored, with the approvals, as one `orders` value:
      // moved out here, once.
      const legacyOrders = await ctx.storage.get<OrderBook>("orders");
      if (legacyOrders) {
        const writes: Record<string, unknown> = {};
        for (const [id, r] of Object.entries(legacyOrders.reservations ?? {})) {
          this.orders.reservations[id] = r;
          writes[`${RESERVATION_PREFIX}${id}`] = r;
        }
        const kept = (legacyOrders.approvals ?? []).filter((t) => t > loadedAt - RATE_WINDOW_MS);
        if (kept.length > this.orders.approvals.length) this.orders.approvals = kept;
        await this.putAll(writes, ["orders"]);
      }
      // State stored in 1e-4 $ and whole contracts is converted to micros and hundredths, once.
      const { positions, marks } = this.portfolio;
      if (upgradeUnits(this.portfolio, positions, marks, this.orders.reservations)) {
        const writes: Record<string, unknown> = { portfolio: this.portfolioRecord() };
        for (const [key, pos] of Object.entries(positions)) writes[`${POSITION_PREFIX}${key}`] = pos;
        for (const [key, mark] of Object.entries(marks)) writes[`${MARK_PREFIX}${key}`] = mark;
        for (const [id, r] of Object.entries(this.orders.reservations))
          writes[`${RESERVATION_PREFIX}${id}`] = r;
        await this.putAll(writes, []);
      }
      const stored = [...(await ctx.storage.list<StoredDecision>({ prefix: "decision:" })).values()];
      stored.sort((a, b) => Date.parse(a.decision.expiresAt) - Date.parse(b.decision.expiresAt));
      for (const d of stored) this.decisions.set(d.decision.decisionId, d);
      this.receipts = receiptSampleFrom(await ctx.storage.list({ prefix: RECEIPT_PREFIX }));
      this.decisionLog = (await ctx.storage.get<DecisionLogState>("dlog")) ?? emptyDecisionLog();
      const logged = await ctx.storage.list<DecisionSummary>({
        prefix: DECISION_LOG_PREFIX,
        reverse: true,
        limit: DECISION_LOG_SIZE,
      });
      for (const [key, entry] of logged)
        this.recentLog.unshift({ seq: Number(key.slice(DECISION_LOG_PREFIX.length)), entry });
      updateWatermarks(this.portfolio, valuation(this.portfolio).equity, Date.now());
    });
  }

  /** Health: fails (so `/admin/status` shows risk degraded) while the stored limits do not parse. */
  async ping(): Promise<string> {
    if (!this.parsed) {
      const loss = this.lossLimits();
      throw new Error(
        `stored limits v${this.limits.version} do not parse: every order is denied; loss checks use the strictest defaults (daily loss ${formatPct(loss.dailyLossPct)}%, drawdown ${formatPct(loss.drawdownPct)}%)`,
      );
    }
    return `limits v${this.limits.version}`;
  }

  /** The audit receipts kept (the newest decision's and a uniform sample of the earlier ones). */
  async receiptSample(): Promise<AuditReceipt[]> {
    return receiptsToCheck(this.receipts);
  }

  /**
   * The loss limits that drive HALT: the stored ones, or while those do not parse the strictest defaults, so a
   * corrupted limits record never switches the loss HALT off.
   */
  private lossLimits(): LossLimits {
    return this.parsed ?? strictestLossLimits(this.limits.limits);
  }

  /**
   * Evaluate an intent. `dry_run` records, reserves and audits nothing; `record` stores a decision to be
   * consumed later; `consume` stores an approval already used (its caller submits it at once), so the
   * decision is made and spent in one storage write and can never be consumed by anyone else.
   */
  async evaluate(
    intent: OrderIntent,
    actor: Principal,
    breakerState: BreakerState,
    mode: EvaluationMode,
  ): Promise<Result<StateChange<RiskDecision | RiskDryRun>>> {
    const intentHash = await canonicalHash(INTENT_HASH_DOMAIN, intent);
    if (mode === "dry_run") {
      const ev = this.evaluateNow(intent, breakerState, Date.now());
      if (!ev.ok) return ev;
      const value: RiskDryRun = {
        dryRun: true,
        approved: ev.value.approved,
        reasons: ev.value.reasons,
        limitsVersion: this.limits.version,
        breakerState,
        intentHash,
      };
      return ok({ value, breach: ev.value.breach });
    }
    return this.queue.run(async () => {
      const now = Date.now();
      const ev = this.evaluateNow(intent, breakerState, now);
      if (!ev.ok) return ev;
      const { approved, reasons, breach } = ev.value;
      const decision: RiskDecision = {
        decisionId: `rd_${randomId(16)}`,
        approved,
        reasons,
        limitsVersion: this.limits.version,
        breakerState,
        intentHash,
        expiresAt: new Date(now + DECISION_TTL_MS).toISOString(),
        auditSeq: 0,
        auditHash: "",
      };
      const { auditSeq: _, auditHash: _h, ...recorded } = decision;
      const consumed = mode === "consume" && approved;
      // The decision exists only once the audit chain holds it (fail closed).
      const appended = await auditAppend(this.env.AUDIT, {
        type: "risk.decision",
        service: "risk",
        actor,
        payload: {
          ...recorded,
          intent,
          breach,
          consumed,
          mark: markSeen(this.portfolio, intent, now),
        } as unknown as JsonValue,
      });
      if (!appended.ok)
        return err(ErrorCode.auditUnavailable, `decision not recorded: ${appended.error.message}`);
      decision.auditSeq = appended.value.seq;
      decision.auditHash = appended.value.hash;
      // Denials are kept too, so consuming one answers "was a denial" rather than "unknown".
      const stored: StoredDecision = { decision, opensRisk: ev.value.opensRisk, used: consumed };
      this.decisions.set(decision.decisionId, stored);
      if (approved) {
        this.orders.approvals.push(now);
        this.clientIds.set(intent.clientOrderId, now);
        // Every approval is reserved until it fills, ends or expires; a reducing one only for the effect check.
        const reduces = !ev.value.opensRisk;
        this.orders.reservations[decision.decisionId] = {
          posKey: ev.value.posKey,
          venue: intent.venue,
          market: intent.market,
          qty: ev.value.delta,
          clientOrderId: intent.clientOrderId,
          expiresAtMs: now + (consumed ? SUBMITTED_RESERVATION_MS : DECISION_TTL_MS),
          ...(reduces
            ? { reduces: true }
            : { priceUnits: orNull(() => parseDollars(intent.limitPrice)) ?? undefined }),
        };
        if (this.view && !reserveInView(this.view, intent, ev.value.delta, reduces)) this.view = null;
      }
      // Logged and counted in the same write (the log and counters feed monitoring; the chain has every one).
      const logged = logDecision(this.decisionLog, decision, intent, new Date(now).toISOString());
      this.decisionLog = logged.state;
      this.recentLog.push({ seq: logged.seq, entry: logged.entry });
      const dropped = this.recentLog.length > DECISION_LOG_SIZE ? this.recentLog.shift() : undefined;
      if (dropped) void this.ctx.storage.delete(decisionLogKey(dropped.seq));
      // One multi-key put: one storage transaction per decision, with only this decision's own keys.
      const writes: Record<string, unknown> = {
        [`decision:${decision.decisionId}`]: stored,
        ...offerReceipt(this.receipts, appended.value),
        [decisionLogKey(logged.seq)]: logged.entry,
        dlog: logged.state,
      };
      if (approved) {
        writes[`cid:${intent.clientOrderId}`] = now;
        const reservation = this.orders.reservations[decision.decisionId];
        if (reservation) writes[`${RESERVATION_PREFIX}${decision.decisionId}`] = reservation;
      }
      await this.ctx.storage.put(writes);
      return ok({ value: decision, breach });
    });
  }

  private evaluateNow(intent: OrderIntent, breakerState: BreakerState, now: number): Result<Evaluation> {
    this.prune(now);
    if (this.portfolio.day !== utcDay(now)) {
      // A new UTC day with no fill or mark yet: the day's loss counts from now.
      updateWatermarks(this.portfolio, valuation(this.portfolio).equity, now);
      this.view = null;
    }
    if (!this.parsed) return err(ErrorCode.internal, "stored limits do not parse; refusing to evaluate");
    const view = this.currentView();
    const windowStart = now - RATE_WINDOW_MS;
    let recent = 0;
    for (const t of this.orders.approvals) if (t > windowStart) recent++;
    return ok(
      evaluateIntent({
        intent,
        view,
        limits: this.parsed,
        breakerState,
        nowMs: now,
        approvalsLastMinute: recent,
        clientOrderIdUsed: this.clientIds.has(intent.clientOrderId),
      }),
    );
  }

  /**
   * Mark an approved decision used, once, and say whether it opens risk. The breaker is not checked here: the
   * caller reads it concurrently (one hop, not two in a row) and refuses an opening decision if it read HALT;
   * such a decision is then used up, never approved.
   */
  async claim(
    decisionId: string,
    intentHash: string,
  ): Promise<Result<{ decision: RiskDecision; opensRisk: boolean }>> {
    const stored = this.decisions.get(decisionId);
    if (!stored) return err(ErrorCode.notFound, "unknown decision");
    const d = stored.decision;
    if (!d.approved) return err(ErrorCode.riskDenied, "decision was a denial");
    if (stored.used) return err(ErrorCode.conflict, "decision already used");
    if (Date.parse(d.expiresAt) <= Date.now()) return err(ErrorCode.conflict, "decision expired");
    if (d.intentHash !== intentHash)
      return err(ErrorCode.conflict, "intent hash does not match the approved intent");
    stored.used = true;
    const writes: Record<string, unknown> = { [`decision:${decisionId}`]: stored };
    // Submitted now: its reservation holds until the order ends, not only the decision's 30 s.
    const reservation = this.orders.reservations[decisionId];
    if (reservation) {
      reservation.expiresAtMs = Date.now() + SUBMITTED_RESERVATION_MS;
      writes[`${RESERVATION_PREFIX}${decisionId}`] = reservation;
    }
    await this.ctx.storage.put(writes);
    return ok({ decision: d, opensRisk: stored.opensRisk });
  }

  /**
   * Execution says these orders ended (filled, cancelled, rejected, expired): whatever they still reserve is
   * released. Their fills were reported first, so the filled part already counts as a position.
   */
  async releaseReservations(clientOrderIds: string[]): Promise<{ released: number }> {
    const ended = new Set(clientOrderIds);
    const released = this.dropReservations((r) => ended.has(r.clientOrderId));
    await Promise.all(this.deleteKeys(released));
    return { released: released.length };
  }

  /** Remove the reservations `which` selects, from memory and the view; answers their storage keys. */
  private dropReservations(which: (r: Reservation) => boolean): string[] {
    const keys: string[] = [];
    for (const [id, r] of Object.entries(this.orders.reservations)) {
      if (!which(r)) continue;
      delete this.orders.reservations[id];
      keys.push(`${RESERVATION_PREFIX}${id}`);
      if (this.view && !moveReservationInView(this.view, r, r.qty, 0)) this.view = null;
    }
    return keys;
  }

  /** Delete storage keys, at most MAX_KEYS_PER_PUT a call. */
  private deleteKeys(keys: string[]): Promise<number>[] {
    const deletes: Promise<number>[] = [];
    for (let i = 0; i < keys.length; i += MAX_KEYS_PER_PUT)
      deletes.push(this.ctx.storage.delete(keys.slice(i, i + MAX_KEYS_PER_PUT)));
    return deletes;
  }

  /** Apply a fill; it releases the matching reservation. */
  async recordFill(fill: FillReport): Promise<Result<StateChange<{ applied: boolean }>>> {
    const { fills, breach } = await this.applyFills([fill]);
    const outcome = fills[0]!;
    if (outcome.error) return err(ErrorCode.validationFailed, `fill ${fill.fillId}: ${outcome.error}`);
    return ok({ value: { applied: outcome.applied }, breach });
  }

  /** Apply fills in order, each as `recordFill` would; one storage write for the batch. */
  async recordFills(fills: FillReport[]): Promise<Result<StateChange<{ fills: FillOutcome[] }>>> {
    const { fills: outcomes, breach } = await this.applyFills(fills);
    return ok({ value: { fills: outcomes }, breach });
  }

  /**
   * Apply fills to the portfolio, release the matching reservations, and keep the view up to date in O(1)
   * per fill (`shiftPosition`; rebuilt only when it cannot be updated exactly). After each fill the
   * watermarks move and the loss limits are checked, as if the fills had come one by one; the first breach
   * seen is returned. Only the keys that changed are written (position, fill id, portfolio totals, reservations).
   */
  private async applyFills(
    fills: FillReport[],
  ): Promise<{ fills: FillOutcome[]; breach: Evaluation["breach"] }> {
    const now = Date.now();
    this.pruneFillIds(now);
    const outcomes: FillOutcome[] = [];
    const writes: Record<string, unknown> = {};
    const deletes = new Set<string>();
    let breach: Evaluation["breach"] = null;
    const reservationsChanged = new Set<string>();
    let refused = 0;
    for (const fill of fills) {
      const effect = applyFillEverywhere(this.portfolio, this.orders.reservations, this.view, fill, now);
      this.view = effect.view;
      if (effect.error) {
        refused++;
        outcomes.push({ fillId: fill.fillId, applied: false, error: effect.error });
        continue;
      }
      outcomes.push({ fillId: fill.fillId, applied: effect.applied });
      for (const id of effect.changedReservations) reservationsChanged.add(id);
      if (effect.applied && effect.posKey) {
        const key = `${POSITION_PREFIX}${effect.posKey}`;
        const pos = this.portfolio.positions[effect.posKey];
        if (pos) {
          writes[key] = pos;
          deletes.delete(key);
        } else {
          delete writes[key];
          deletes.add(key);
        }
        writes[`${FILL_ID_PREFIX}${fill.fillId}`] = now;
      }
      breach ??= this.checkLoss(now);
    }
    // Nothing but refusals: nothing changed, nothing to write (as a refused single fill always was).
    if (refused === fills.length) return { fills: outcomes, breach: null };
    writes.portfolio = this.portfolioRecord();
    for (const id of reservationsChanged) {
      const key = `${RESERVATION_PREFIX}${id}`;
      const r = this.orders.reservations[id];
      if (r) writes[key] = r;
      else deletes.add(key);
    }
    await this.putAll(writes, [...deletes]);
    return { fills: outcomes, breach };
  }

  /** Move the watermarks to the current equity and check the loss limits against them. */
  private checkLoss(now: number): Evaluation["breach"] {
    const view = this.currentView();
    // The view's equity also counts reservations; the watermarks follow the filled portfolio (as before).
    const equity =
      view.equity !== null && view.unmarked.length === 0 ? view.equity : valuation(this.portfolio).equity;
    updateWatermarks(this.portfolio, equity, now);
    view.dayStartEquity = this.portfolio.dayStartEquity;
    view.highWaterMark = this.portfolio.highWaterMark;
    return lossBreach(view, this.lossLimits());
  }

  /** The persisted portfolio value: totals and watermarks only (marks, positions and fill ids have their own keys). */
  private portfolioRecord(): PortfolioState {
    const { marks: _m, positions: _p, fillIds: _f, ...rest } = this.portfolio;
    return { ...rest, marks: {}, positions: {}, fillIds: {} };
  }

  /** Write and delete keys in puts of at most 128 keys (the puts of one turn commit together). */
  private async putAll(writes: Record<string, unknown>, deletes: string[]): Promise<void> {
    const keys = Object.keys(writes);
    for (let i = 0; i < keys.length; i += MAX_KEYS_PER_PUT) {
      const chunk: Record<string, unknown> = {};
      for (const k of keys.slice(i, i + MAX_KEYS_PER_PUT)) chunk[k] = writes[k];
      await this.ctx.storage.put(chunk);
    }
    for (let i = 0; i < deletes.length; i += MAX_KEYS_PER_PUT)
      await this.ctx.storage.delete(deletes.slice(i, i + MAX_KEYS_PER_PUT));
  }

  /** Forget fill ids applied longer ago than `FILL_ID_KEEP_MS`. */
  private pruneFillIds(now: number): void {
    const old: string[] = [];
    for (const [id, t] of Object.entries(this.portfolio.fillIds)) {
      if (t > now - FILL_ID_KEEP_MS) break;
      delete this.portfolio.fillIds[id];
      old.push(`${FILL_ID_PREFIX}${id}`);
    }
    void this.deleteKeys(old);
  }

  /** Apply marks from ingestion; the view is revalued for the markets that changed only. */
  async recordMarks(marks: MarkUpdate[]): Promise<Result<StateChange<{ applied: number }>>> {
    // The whole batch or nothing: one bad mark changes nothing (in memory or in storage).
    const effect = applyMarksEverywhere(this.portfolio, this.orders.reservations, this.view, marks);
    this.view = effect.view;
    if (effect.error) return err(ErrorCode.validationFailed, effect.error);
    if (effect.changed.length === 0) return ok({ value: { applied: 0 }, breach: null });
    return ok({ value: { applied: effect.changed.length }, breach: await this.afterChange(effect.changed) });
  }

  /** Move the watermarks and check the loss limits after a change of marks or capital; persist what changed. */
  private async afterChange(changedMarks: string[] = []): Promise<Evaluation["breach"]> {
    const breach = this.checkLoss(Date.now());
    // The portfolio value without its marks, plus each changed mark under its own key (a put takes at most
    // 128 keys; the puts of one call are coalesced into one atomic write by the output gate).
    const marks = this.portfolio.marks;
    const writes: Record<string, unknown> = { portfolio: this.portfolioRecord() };
    for (const key of new Set(changedMarks)) {
      writes[`${MARK_PREFIX}${key}`] = marks[key];
      if (Object.keys(writes).length === 128) {
        await this.ctx.storage.put({ ...writes });
        for (const k of Object.keys(writes)) delete writes[k];
      }
    }
    if (Object.keys(writes).length > 0) await this.ctx.storage.put(writes);
    return breach;
  }

  /** The stored limits. */
  async getLimits(): Promise<RiskLimitsView> {
    return this.limits;
  }

  /** Lowering applies at once; raising needs a redeemed `risk.limits_increase` receipt for exactly `{ limits }`. */
  async updateLimits(
    limits: RiskLimits,
    actor: Principal,
    receipt?: ApprovalReceiptRef,
  ): Promise<Result<RiskLimitsView>> {
    const outcome = await this.queue.run(
      async (): Promise<Result<RiskLimitsView> | RedeemedButNotApplied> => {
        const next = parseLimits(limits, this.limits.version + 1);
        if (!next) return err(ErrorCode.validationFailed, "limits do not parse");
        const raised = raisedLimits(this.limits.limits, limits);
        let approval: JsonValue = null;
        if (raised.length > 0) {
          if (!receipt) {
            return err(
              ErrorCode.approvalRequired,
              `raising ${raised.join(", ")} needs a two-person approval`,
              {
                action: "risk.limits_increase",
                payload: { limits },
                raised,
              },
            );
          }
          const redeemed = await redeemApproval(
            this.env.GOVERNANCE,
            receipt,
            "risk.limits_increase",
            { limits },
            actor,
          );
          if (!redeemed.ok) return redeemed;
          approval = { ...redeemed.value };
        }
        const view: RiskLimitsView = {
          version: this.limits.version + 1,
          limits,
          updatedAt: new Date().toISOString(),
          updatedBy: `${actor.method}:${actor.subject}`,
        };
        const appended = await auditAppend(this.env.AUDIT, {
          type: "risk.limits_changed",
          service: "risk",
          actor,
          payload: {
            fromVersion: this.limits.version,
            toVersion: view.version,
            previous: this.limits.limits,
            limits,
            raised,
            approval,
          } as unknown as JsonValue,
        });
        if (!appended.ok) {
          const failure = {
            code: ErrorCode.auditUnavailable,
            message: `limits not changed: ${appended.error.message}`,
          };
          return receipt && raised.length > 0
            ? new RedeemedButNotApplied(receipt, failure)
            : err(failure.code, failure.message);
        }
        this.limits = view;
        this.parsed = next;
        await this.ctx.storage.put("limits", view);
        return ok(view);
      },
    );
    return settleRedemption(this.env.GOVERNANCE, actor, outcome);
  }

  /**
   * Set the capital base. Lowering applies at once; raising (or the first allocation) is a
   * capital-allocation increase and needs a redeemed `risk.capital_increase` receipt for exactly `change`.
   */
  async setCapital(
    change: CapitalChange,
    actor: Principal,
    receipt?: ApprovalReceiptRef,
  ): Promise<Result<CapitalView>> {
    const outcome = await this.queue.run(async (): Promise<Result<CapitalView> | RedeemedButNotApplied> => {
      const target = orNull(() => parseDollars(change.equity));
      if (target === null || target <= 0)
        return err(ErrorCode.validationFailed, "equity must be a positive amount");
      const current = this.portfolio.startingEquity === null ? null : valuation(this.portfolio).equity;
      if (this.portfolio.startingEquity !== null && current === null)
        return err(
          ErrorCode.conflict,
          "current equity is unknown (an open position has no mark): capital not changed",
        );
      const raising = current === null || target > current;
      let approval: JsonValue = null;
      if (raising) {
        if (!receipt) {
          return err(ErrorCode.approvalRequired, "raising the capital base needs a two-person approval", {
            action: "risk.capital_increase",
            payload: change,
          });
        }
        const redeemed = await redeemApproval(
          this.env.GOVERNANCE,
          receipt,
          "risk.capital_increase",
          change,
          actor,
        );
        if (!redeemed.ok) return redeemed;
        approval = { ...redeemed.value };
      }
      const now = Date.now();
      const appended = await auditAppend(this.env.AUDIT, {
        type: "risk.capital_changed",
        service: "risk",
        actor,
        payload: {
          previousEquity: current === null ? null : formatDollars(current, 2, "trunc"),
          equity: formatDollars(target, 2, "trunc"),
          approval,
        },
      });
      // From here a failure gives a redeemed receipt back: the raise did not happen.
      const fail = (code: string, message: string): Result<CapitalView> | RedeemedButNotApplied =>
        raising && receipt ? new RedeemedButNotApplied(receipt, { code, message }) : err(code, message);
      if (!appended.ok)
        return fail(ErrorCode.auditUnavailable, `capital not changed: ${appended.error.message}`);
      // Fills may have moved equity during the awaits: a change approved as a lowering must still be one.
      const nowEquity = this.portfolio.startingEquity === null ? null : valuation(this.portfolio).equity;
      if (!raising && (nowEquity === null || target > nowEquity))
        return err(
          ErrorCode.conflict,
          "equity fell below the requested capital meanwhile: that is now a raise",
        );
      const applied = applyCapitalChange(this.portfolio, target, now);
      if (!applied) return fail(ErrorCode.conflict, "current equity became unknown: capital not changed");
      // Cash and watermarks moved: the view is rebuilt (a rare change, not a hot path).
      this.view = null;
      await this.afterChange();
      return ok({
        equity: formatDollars(target, 2, "trunc"),
        previousEquity: applied.previous === null ? null : formatDollars(applied.previous, 2, "trunc"),
        changedBy: `${actor.method}:${actor.subject}`,
        changedAt: new Date(now).toISOString(),
      });
    });
    return settleRedemption(this.env.GOVERNANCE, actor, outcome);
  }

  /** The newest logged decisions, newest first. */
  async recentDecisions(query: DecisionQuery): Promise<DecisionSummary[]> {
    const newestFirst: DecisionSummary[] = [];
    for (let i = this.recentLog.length - 1; i >= 0; i--) newestFirst.push(this.recentLog[i]!.entry);
    return queryDecisionLog(newestFirst, query);
  }

  /** Decision counters, and how old the mark of every market a position is held in is. */
  async monitorStats(): Promise<{
    decisions: DecisionCounters;
    heldMarks: { venue: Venue; market: string; ageSeconds: number | null }[];
  }> {
    const now = Date.now();
    const held = new Map<string, { venue: Venue; market: string; ageSeconds: number | null }>();
    for (const p of Object.values(this.portfolio.positions)) {
      if (p.qty === 0) continue;
      const key = `${p.venue}:${p.market}`;
      const mark = this.portfolio.marks[key];
      held.set(key, {
        venue: p.venue,
        market: p.market,
        ageSeconds: mark ? Math.max(0, Math.floor((now - mark.observedAtMs) / 1000)) : null,
      });
    }
    const { nextSeq: _, ...decisions } = this.decisionLog;
    return { decisions, heldMarks: [...held.values()] };
  }

  /** Each limit's current use. */
  async exposure(breakerState: BreakerState): Promise<Result<RiskExposure>> {
    if (!this.parsed) return err(ErrorCode.internal, "stored limits do not parse");
    this.prune(Date.now());
    const v = valuation(this.portfolio);
    const now = Date.now();
    return ok({
      ...exposureReport({
        view: this.currentView(),
        limits: this.parsed,
        breakerState,
        limitsVersion: this.limits.version,
        realised: formatDollars(this.portfolio.realised, 2, "trunc"),
        unrealised: v.unrealised === null ? null : formatDollars(v.unrealised, 2, "trunc"),
        openPositions: Object.keys(this.portfolio.positions).length,
        nowMs: now,
      }),
      ...exposureDetail(this.portfolio, this.currentView(), this.parsed.maxMarkAgeMs, now),
    });
  }

  private currentView(): RiskView {
    if (!this.view) this.view = buildView(this.portfolio, Object.values(this.orders.reservations));
    return this.view;
  }

  /** Drop expired reservations, old approvals and client ids, and long-expired decisions. */
  private prune(now: number): void {
    const expired = this.dropReservations((r) => r.expiresAtMs <= now);
    // Approvals are pushed in time order: drop the head that left the window.
    let drop = 0;
    while (drop < this.orders.approvals.length && this.orders.approvals[drop]! <= now - RATE_WINDOW_MS)
      drop++;
    if (drop > 0) this.orders.approvals.splice(0, drop);
    for (const [id, t] of this.clientIds) {
      if (t > now - CLIENT_ID_TTL_MS) break;
      this.clientIds.delete(id);
      void this.ctx.storage.delete(`cid:${id}`);
    }
    void this.deleteKeys(expired);
    for (const [id, d] of this.decisions) {
      if (Date.parse(d.decision.expiresAt) > now - DECISION_KEEP_MS) break;
      this.decisions.delete(id);
      void this.ctx.storage.delete(`decision:${id}`);
    }
  }
}

/** The mark a decision was taken against, as the audit chain keeps it (its age is what the soak measures). */
function markSeen(
  portfolio: PortfolioState,
  intent: OrderIntent,
  now: number,
): { price: string | null; observedAt: string; ageMs: number } | null {
  const mark = portfolio.marks[marketKey(intent.venue, intent.market)];
  if (!mark || !Number.isFinite(mark.observedAtMs)) return null;
  return {
    price: mark.price === null ? null : formatDollars(mark.price, 4, "trunc"),
    observedAt: new Date(mark.observedAtMs).toISOString(),
    ageMs: now - mark.observedAtMs,
  };
}
