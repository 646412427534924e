import { DurableObject } from "cloudflare:workers";
import {
  type AuditReceipt,
  type BreakerState,
  type CapitalChange,
  type CapitalView,
  type DecisionCounters,
  type DecisionQuery,
  type DecisionSummary,
  ErrorCode,
  type EvaluationMode,
  err,
  type FillOutcome,
  type FillReport,
  type HeldMarkAnswer,
  INTENT_HASH_DOMAIN,
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
  type Venue,
} from "@paulp/contracts";
import {
  canonicalHash,
  formatDollars,
  formatPct,
  type RedeemedButNotApplied,
  SerialQueue,
  settleRedemption,
} from "@paulp/kit";
import { exposureDetail, exposureReport, marketKey, valuation } from "@paulp/risk-rules";
import { queryDecisionLog } from "./decision-log";
import type { Env } from "./env";
import { type AdminScope, changeCapital, changeLimits } from "./governor-admin";
import { claimDecision, evaluateNow, prune, recordDecision, releaseReservations } from "./governor-decisions";
import { applyFills, recordMarks } from "./governor-portfolio";
import {
  currentView,
  type GovernorState,
  loadGovernor,
  lossLimits,
  type StateChange,
} from "./governor-state";
import { receiptsToCheck } from "./receipt-sample";
import type { TwoPersonChange } from "./redeem";

export { DECISION_TTL_MS, SUBMITTED_RESERVATION_MS } from "./governor-decisions";
export { FILL_ID_KEEP_MS, type StateChange } from "./governor-state";

/**
 * Portfolio state, limits and decisions, one instance ("portfolio"): a thin shell over the governor's modules
 * (governor-state: storage layout and load; governor-decisions; governor-portfolio: fills and marks;
 * governor-admin: limits and capital). The shell owns the storage, the wall clock it passes in and the serial
 * queue: evaluations that act are serialised, since two orders approved concurrently could otherwise each fit
 * a limit that together they break.
 */
export class RiskGovernor extends DurableObject<Env> {
  private st!: GovernorState;
  /** Not private: a test awaits `queue.whenPending` to know an order waits its turn (worker-halt-race). */
  readonly queue = new SerialQueue();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      this.st = await loadGovernor(ctx.storage, env, Date.now());
    });
  }

  /** Health: fails (so `/admin/status` shows risk degraded) while the stored limits do not parse. */
  async ping(): Promise<string> {
    if (!this.st.parsed) {
      const loss = lossLimits(this.st);
      throw new Error(
        `stored limits v${this.st.limits.version} do not parse: every order is denied; loss checks use the strictest defaults (daily loss ${formatPct(loss.dailyLossPct)}%, drawdown ${formatPct(loss.drawdownPct)}%)`,
      );
    }
    return `limits v${this.st.limits.version}`;
  }

  /** The audit receipts kept (the newest decision's and a uniform sample of the earlier ones). */
  async receiptSample(): Promise<AuditReceipt[]> {
    return receiptsToCheck(this.st.receipts);
  }

  /**
   * Evaluate an intent. `dry_run` records, reserves and audits nothing; `decide` stores a decision to be
   * consumed later; `decide_and_consume` stores an approval already used (its caller submits it at once), so
   * the decision is made and spent in one storage write and can never be consumed by anyone else.
   */
  async evaluate(
    intent: OrderIntent,
    actor: Principal,
    breakerState: BreakerState,
    mode: EvaluationMode,
  ): Promise<Result<StateChange<RiskDecision | RiskDryRun>>> {
    const intentHash = await canonicalHash(INTENT_HASH_DOMAIN, intent);
    const { st } = this;
    const storage = this.ctx.storage;
    if (mode === "dry_run") {
      const ev = evaluateNow(st, storage, intent, breakerState, Date.now());
      if (!ev.ok) return ev;
      const value: RiskDryRun = {
        dryRun: true,
        approved: ev.value.approved,
        reasons: ev.value.reasons,
        limitsVersion: st.limits.version,
        breakerState,
        intentHash,
      };
      return ok({ value, breach: ev.value.breach });
    }
    return this.queue.run(() =>
      recordDecision(st, storage, this.env, intent, actor, breakerState, mode, intentHash, Date.now()),
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
    return claimDecision(this.st, this.ctx.storage, decisionId, intentHash, Date.now());
  }

  /**
   * Execution says these orders ended (filled, cancelled, rejected, expired): whatever they still reserve is
   * released. Their fills were reported first, so the filled part already counts as a position.
   */
  async releaseReservations(clientOrderIds: string[]): Promise<{ released: number }> {
    return releaseReservations(this.st, this.ctx.storage, clientOrderIds);
  }

  /** Apply fills in order (each releases its matching reservation); one storage write for the batch. */
  async recordFills(fills: FillReport[]): Promise<Result<StateChange<{ fills: FillOutcome[] }>>> {
    const { fills: outcomes, breach } = await applyFills(this.st, this.ctx.storage, fills, Date.now());
    return ok({ value: { fills: outcomes }, breach });
  }

  /** Apply marks from ingestion; the view is revalued for the markets that changed only. */
  async recordMarks(marks: MarkUpdate[]): Promise<Result<StateChange<{ applied: number }>>> {
    return recordMarks(this.st, this.ctx.storage, marks, Date.now());
  }

  /** The latest mark of one market, with the freshness limit in force (the caller judges the age). */
  async getMark(venue: Venue, market: string): Promise<Result<HeldMarkAnswer>> {
    const { st } = this;
    if (!st.parsed) return err(ErrorCode.internal, "stored limits do not parse");
    const mark = st.portfolio.marks[marketKey(venue, market)];
    return ok({
      mark: mark
        ? {
            venue: mark.venue,
            market: mark.market,
            price: mark.price === null ? null : formatDollars(mark.price, 4, "half-up"),
            observedAt: new Date(mark.observedAtMs).toISOString(),
            evidenceHash: mark.evidenceHash,
          }
        : null,
      maxMarkAgeSeconds: st.parsed.maxMarkAgeMs / 1000,
    });
  }

  /** The stored limits. */
  async getLimits(): Promise<RiskLimitsView> {
    return this.st.limits;
  }

  /** Lowering applies at once; raising needs a redeemed `risk.limits_increase` receipt for exactly `{ limits }`. */
  async updateLimits(...asked: TwoPersonChange<RiskLimits>): Promise<Result<RiskLimitsView>> {
    return this.changeWithReceipt(asked, changeLimits);
  }

  /**
   * Set the capital base. Lowering applies at once; raising (or the first allocation) is a
   * capital-allocation increase and needs a redeemed `risk.capital_increase` receipt for exactly `change`.
   */
  async setCapital(...asked: TwoPersonChange<CapitalChange>): Promise<Result<CapitalView>> {
    return this.changeWithReceipt(asked, changeCapital);
  }

  /** The newest logged decisions, newest first. */
  async recentDecisions(query: DecisionQuery): Promise<DecisionSummary[]> {
    const { recentLog } = this.st;
    const newestFirst: DecisionSummary[] = [];
    for (let i = recentLog.length - 1; i >= 0; i--) newestFirst.push(recentLog[i]!.entry);
    return queryDecisionLog(newestFirst, query);
  }

  /** Decision counters, and how old the mark of every market a position is held in is. */
  async monitorStats(): Promise<{
    decisions: DecisionCounters;
    heldMarks: { venue: Venue; market: string; ageSeconds: number | null }[];
  }> {
    const now = Date.now();
    const { portfolio } = this.st;
    const held = new Map<string, { venue: Venue; market: string; ageSeconds: number | null }>();
    for (const p of Object.values(portfolio.positions)) {
      if (p.qty === 0) continue;
      const key = `${p.venue}:${p.market}`;
      const mark = portfolio.marks[key];
      held.set(key, {
        venue: p.venue,
        market: p.market,
        ageSeconds: mark ? Math.max(0, Math.floor((now - mark.observedAtMs) / 1000)) : null,
      });
    }
    const { nextSeq: _, ...decisions } = this.st.decisionLog;
    return { decisions, heldMarks: [...held.values()] };
  }

  /** Each limit's current use. */
  async exposure(breakerState: BreakerState): Promise<Result<RiskExposure>> {
    const { st } = this;
    if (!st.parsed) return err(ErrorCode.internal, "stored limits do not parse");
    prune(st, this.ctx.storage, Date.now());
    const v = valuation(st.portfolio);
    const now = Date.now();
    return ok({
      ...exposureReport({
        view: currentView(st),
        limits: st.parsed,
        breakerState,
        limitsVersion: st.limits.version,
        realised: formatDollars(st.portfolio.realised, 2, "trunc"),
        unrealised: v.unrealised === null ? null : formatDollars(v.unrealised, 2, "trunc"),
        openPositions: Object.keys(st.portfolio.positions).length,
        nowMs: now,
      }),
      ...exposureDetail(st.portfolio, currentView(st), st.parsed.maxMarkAgeMs, now),
    });
  }

  /** A two-person change (governor-admin.ts) run in the serial queue; a receipt redeemed but not applied goes back. */
  private async changeWithReceipt<C, T>(
    asked: TwoPersonChange<C>,
    apply: (scope: AdminScope, asked: TwoPersonChange<C>) => Promise<Result<T> | RedeemedButNotApplied>,
  ): Promise<Result<T>> {
    const outcome = await this.queue.run(() =>
      apply({ st: this.st, storage: this.ctx.storage, env: this.env, clock: Date.now }, asked),
    );
    const [, actor] = asked;
    return settleRedemption(this.env.GOVERNANCE, actor, outcome);
  }
}
