import { DurableObject } from "cloudflare:workers";
import {
  type ApprovalReceiptRef,
  type BreakerState,
  ErrorCode,
  err,
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
  type RiskLimits,
  type RiskLimitsView,
  type VerifiedApproval,
} from "@paulp/contracts";
import { auditAppend, canonicalHash, randomId } from "@paulp/kit";
import { formatMoney, parseUnits } from "./decimal";
import type { Env } from "./env";
import {
  buildView,
  type Evaluation,
  evaluateIntent,
  lossBreach,
  type ParsedLimits,
  parseLimits,
  type Reservation,
  type RiskView,
  reserveInView,
} from "./evaluate";
import { exposureReport } from "./exposure";
import { DEFAULT_LIMITS, raisedLimits } from "./limits";
import {
  applyFill,
  applyMark,
  emptyPortfolio,
  type Mark,
  marketKey,
  type PortfolioState,
  updateWatermarks,
  utcDay,
  valuation,
} from "./portfolio";
import { SerialQueue } from "./serial";

/** How long an approved decision can be consumed, and how long its reservation counts. */
export const DECISION_TTL_MS = 30_000;
/** How long a client order id stays taken. */
const CLIENT_ID_TTL_MS = 24 * 3600_000;
/** Expired decisions are kept this long (for a clear "expired" answer), then dropped. */
const DECISION_KEEP_MS = 10 * 60_000;

interface StoredDecision {
  decision: RiskDecision;
  opensRisk: boolean;
  used: boolean;
}

/** Storage key prefix of one market's mark (`mark:venue:market`). */
const MARK_PREFIX = "mark:";

/** Short-lived order state (bounded by the decision TTL and the one-minute rate window), persisted as one key. */
interface OrderBook {
  reservations: Record<string, Reservation>;
  approvals: number[];
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

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      const equity = env.STARTING_EQUITY === undefined ? null : parseUnits(env.STARTING_EQUITY);
      this.portfolio =
        (await ctx.storage.get<PortfolioState>("portfolio")) ??
        emptyPortfolio(equity !== null && equity > 0 ? equity : null);
      // Marks live under their own keys: thousands of markets would overflow one value and make every
      // portfolio write rewrite all of them.
      this.portfolio.marks = {};
      for (const [key, mark] of await ctx.storage.list<Mark>({ prefix: MARK_PREFIX })) {
        this.portfolio.marks[key.slice(MARK_PREFIX.length)] = mark;
      }
      this.limits = (await ctx.storage.get<RiskLimitsView>("limits")) ?? {
        version: 1,
        limits: DEFAULT_LIMITS,
        updatedAt: new Date(0).toISOString(),
        updatedBy: "default",
      };
      this.parsed = parseLimits(this.limits.limits, this.limits.version);
      this.orders = (await ctx.storage.get<OrderBook>("orders")) ?? this.orders;
      // Maps kept in time order, so pruning can stop at the first entry still alive.
      const cids = [...(await ctx.storage.list<number>({ prefix: "cid:" }))].sort((a, b) => a[1] - b[1]);
      for (const [key, t] of cids) this.clientIds.set(key.slice(4), t);
      const stored = [...(await ctx.storage.list<StoredDecision>({ prefix: "decision:" })).values()];
      stored.sort((a, b) => Date.parse(a.decision.expiresAt) - Date.parse(b.decision.expiresAt));
      for (const d of stored) this.decisions.set(d.decision.decisionId, d);
      updateWatermarks(this.portfolio, valuation(this.portfolio).equity, Date.now());
    });
  }

  async ping(): Promise<string> {
    return `limits v${this.limits.version}`;
  }

  /** Evaluate an intent. `dryRun` records, reserves and audits nothing. */
  async evaluate(
    intent: OrderIntent,
    actor: Principal,
    breakerState: BreakerState,
    dryRun: boolean,
  ): Promise<Result<StateChange<RiskDecision | RiskDryRun>>> {
    const intentHash = await canonicalHash(INTENT_HASH_DOMAIN, intent);
    if (dryRun) {
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
      };
      const { auditSeq: _, ...recorded } = decision;
      // The decision exists only once the audit chain holds it (fail closed).
      const appended = await auditAppend(this.env.AUDIT, {
        type: "risk.decision",
        service: "risk",
        actor,
        payload: { ...recorded, intent, breach } as unknown as JsonValue,
      });
      if (!appended.ok)
        return err(ErrorCode.auditUnavailable, `decision not recorded: ${appended.error.message}`);
      decision.auditSeq = appended.value.seq;
      // Denials are kept too, so consuming one answers "was a denial" rather than "unknown".
      const stored: StoredDecision = { decision, opensRisk: ev.value.opensRisk, used: false };
      this.decisions.set(decision.decisionId, stored);
      if (approved) {
        this.orders.approvals.push(now);
        this.clientIds.set(intent.clientOrderId, now);
        if (ev.value.opensRisk) {
          this.orders.reservations[decision.decisionId] = {
            posKey: ev.value.posKey,
            venue: intent.venue,
            market: intent.market,
            qty: ev.value.delta,
            clientOrderId: intent.clientOrderId,
            expiresAtMs: now + DECISION_TTL_MS,
          };
          if (this.view) reserveInView(this.view, intent, ev.value.delta);
        }
      }
      // One multi-key put: one storage transaction per decision.
      const writes: Record<string, unknown> = { [`decision:${decision.decisionId}`]: stored };
      if (approved) {
        writes.orders = this.orders;
        writes[`cid:${intent.clientOrderId}`] = now;
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
    const windowStart = now - 60_000;
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

  /** Mark an approved decision used, once; `breakerState` is re-checked so a HALT after approval still stops it. */
  async consume(
    decisionId: string,
    intentHash: string,
    breakerState: BreakerState,
  ): Promise<Result<RiskDecision>> {
    const stored = this.decisions.get(decisionId);
    if (!stored) return err(ErrorCode.notFound, "unknown decision");
    const d = stored.decision;
    if (!d.approved) return err(ErrorCode.riskDenied, "decision was a denial");
    if (stored.used) return err(ErrorCode.conflict, "decision already used");
    if (Date.parse(d.expiresAt) <= Date.now()) return err(ErrorCode.conflict, "decision expired");
    if (d.intentHash !== intentHash)
      return err(ErrorCode.conflict, "intent hash does not match the approved intent");
    if (breakerState === "HALT" && stored.opensRisk)
      return err(ErrorCode.breakerHalted, "breaker is HALT: opening orders may not be sent");
    stored.used = true;
    await this.ctx.storage.put(`decision:${decisionId}`, stored);
    return ok(d);
  }

  /** Apply a fill; it releases the matching reservation. */
  async recordFill(fill: FillReport): Promise<Result<StateChange<{ applied: boolean }>>> {
    const result = applyFill(this.portfolio, fill);
    if (result.error) return err(ErrorCode.validationFailed, `fill ${fill.fillId}: ${result.error}`);
    if (result.applied) {
      const delta = fill.side === "buy" ? fill.quantity : -fill.quantity;
      for (const [id, r] of Object.entries(this.orders.reservations)) {
        if (r.clientOrderId !== fill.clientOrderId || Math.sign(r.qty) !== Math.sign(delta)) continue;
        const left = r.qty - delta;
        if (Math.sign(left) !== Math.sign(r.qty) || left === 0) delete this.orders.reservations[id];
        else r.qty = left;
      }
      await this.ctx.storage.put("orders", this.orders);
    }
    return ok({ value: { applied: result.applied }, breach: await this.afterChange() });
  }

  /** Apply marks from ingestion. */
  async recordMarks(marks: MarkUpdate[]): Promise<Result<StateChange<{ applied: number }>>> {
    // Validate the whole batch first, so one bad mark changes nothing (in memory or in storage).
    const before = new Map<string, Mark | undefined>();
    const changed: string[] = [];
    for (const mark of marks) {
      const key = marketKey(mark.venue, mark.market);
      if (!before.has(key)) before.set(key, this.portfolio.marks[key]);
      const r = applyMark(this.portfolio, mark);
      if (r.error) {
        for (const [k, prev] of before) {
          if (prev === undefined) delete this.portfolio.marks[k];
          else this.portfolio.marks[k] = prev;
        }
        return err(ErrorCode.validationFailed, `mark ${mark.venue}:${mark.market}: ${r.error}`);
      }
      if (r.applied) changed.push(key);
    }
    if (changed.length === 0) return ok({ value: { applied: 0 }, breach: null });
    return ok({ value: { applied: changed.length }, breach: await this.afterChange(changed) });
  }

  private async afterChange(changedMarks: string[] = []): Promise<Evaluation["breach"]> {
    this.view = null;
    updateWatermarks(this.portfolio, valuation(this.portfolio).equity, Date.now());
    // The portfolio value without its marks, plus each changed mark under its own key (a put takes at most
    // 128 keys; the puts of one call are coalesced into one atomic write by the output gate).
    const { marks, ...rest } = this.portfolio;
    const writes: Record<string, unknown> = { portfolio: { ...rest, marks: {} } };
    for (const key of new Set(changedMarks)) {
      writes[`${MARK_PREFIX}${key}`] = marks[key];
      if (Object.keys(writes).length === 128) {
        await this.ctx.storage.put({ ...writes });
        for (const k of Object.keys(writes)) delete writes[k];
      }
    }
    if (Object.keys(writes).length > 0) await this.ctx.storage.put(writes);
    return this.parsed ? lossBreach(this.currentView(), this.parsed) : null;
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
    return this.queue.run(async () => {
      const next = parseLimits(limits, this.limits.version + 1);
      if (!next) return err(ErrorCode.validationFailed, "limits do not parse");
      const raised = raisedLimits(this.limits.limits, limits);
      let approval: JsonValue = null;
      if (raised.length > 0) {
        if (!receipt) {
          return err(ErrorCode.approvalRequired, `raising ${raised.join(", ")} needs a two-person approval`, {
            action: "risk.limits_increase",
            payload: { limits },
            raised,
          });
        }
        let redeemed: Result<VerifiedApproval>;
        try {
          redeemed = (await this.env.GOVERNANCE.redeemReceipt(
            receipt,
            "risk.limits_increase",
            { limits },
            actor,
          )) as Result<VerifiedApproval>;
        } catch (error) {
          return err(ErrorCode.serviceUnavailable, `governance unreachable: ${(error as Error).message}`);
        }
        if (!redeemed.ok) return err(redeemed.error.code, redeemed.error.message);
        approval = { requestId: redeemed.value.requestId, approvers: redeemed.value.approvers };
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
      if (!appended.ok)
        return err(ErrorCode.auditUnavailable, `limits not changed: ${appended.error.message}`);
      this.limits = view;
      this.parsed = next;
      await this.ctx.storage.put("limits", view);
      return ok(view);
    });
  }

  /** Each limit's current use. */
  async exposure(breakerState: BreakerState): Promise<Result<RiskExposure>> {
    if (!this.parsed) return err(ErrorCode.internal, "stored limits do not parse");
    this.prune(Date.now());
    const v = valuation(this.portfolio);
    return ok(
      exposureReport({
        view: this.currentView(),
        limits: this.parsed,
        breakerState,
        limitsVersion: this.limits.version,
        realised: formatMoney(this.portfolio.realised),
        unrealised: v.unrealised === null ? null : formatMoney(v.unrealised),
        openPositions: Object.keys(this.portfolio.positions).length,
      }),
    );
  }

  private currentView(): RiskView {
    if (!this.view) this.view = buildView(this.portfolio, Object.values(this.orders.reservations));
    return this.view;
  }

  /** Drop expired reservations, old approvals and client ids, and long-expired decisions. */
  private prune(now: number): void {
    let changed = false;
    for (const [id, r] of Object.entries(this.orders.reservations)) {
      if (r.expiresAtMs <= now) {
        delete this.orders.reservations[id];
        changed = true;
        this.view = null;
      }
    }
    const before = this.orders.approvals.length;
    this.orders.approvals = this.orders.approvals.filter((t) => t > now - 60_000);
    if (this.orders.approvals.length !== before) changed = true;
    for (const [id, t] of this.clientIds) {
      if (t > now - CLIENT_ID_TTL_MS) break;
      this.clientIds.delete(id);
      void this.ctx.storage.delete(`cid:${id}`);
    }
    if (changed) void this.ctx.storage.put("orders", this.orders);
    for (const [id, d] of this.decisions) {
      if (Date.parse(d.decision.expiresAt) > now - DECISION_KEEP_MS) break;
      this.decisions.delete(id);
      void this.ctx.storage.delete(`decision:${id}`);
    }
  }
}
