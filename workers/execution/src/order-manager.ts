import { DurableObject } from "cloudflare:workers";
import {
  type ApprovalReceiptRef,
  ErrorCode,
  type ExecutionMode,
  type ExecutionMonitorStats,
  type ExecutionPolicyChange,
  type ExecutionPolicyView,
  type ExecutionPosition,
  err,
  type HedgeObligationQuery,
  type HedgeObligationsView,
  type HedgeObligationView,
  type OrderContext,
  type OrderIntent,
  type OrderQuery,
  type OrderSubmission,
  type OrderView,
  ok,
  type PositionDrift,
  type Principal,
  type ReconciliationReport,
  type Result,
  type Venue,
} from "@paulp/contracts";
import { failedAfterRedeem, rpc } from "@paulp/kit";
import type { Env } from "./env";
import type { FillHedge, HedgeFill, HedgeObligationEvent } from "./hedge-obligations";
import { audit, auditFact, type OrderDesk, RPC_TIMEOUT_MS } from "./orders/desk";
import { HEDGE_LIST_LIMIT, HedgeObligationStore, type ObligationPatch } from "./orders/obligations";
import {
  drainOutbox,
  FILL_PUSH_DELAY_MS,
  FILL_RETRY_MS,
  flushHeldAudits,
  reportFillsNow,
} from "./orders/outbox";
import { reconcile } from "./orders/reconciliation";
import { cancelOrder, resolveUnknown } from "./orders/recovery";
import { OrderStore } from "./orders/store";
import { submitOrder } from "./orders/submit";
import { applyPolicyChange, effectiveMode } from "./policy";

/**
 * The order lifecycle, one instance per account ("orders"): a thin shell over the order steps in `orders/`
 * (submit: claim → decide → guard → paper | live; the outbox; recovery; reconciliation) and their typed store.
 * The shell owns what only a Durable Object has: its storage, its alarm and the wall clock it passes in.
 */
export class OrderManager extends DurableObject<Env> {
  private readonly desk: OrderDesk;
  /** The outbox alarm is already set (so a busy second sets it once, not once per fill). */
  private alarmArmed = false;
  /** Orders this instance is sending right now (see `OrderDesk.sending`); lost on restart, as it should be. */
  private readonly sending = new Set<string>();
  /** Fills whose hedge is owed (see hedge-obligations.ts), beside the orders. */
  private readonly obligations: HedgeObligationStore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const now = () => Date.now();
    const obligations = new HedgeObligationStore(ctx.storage.sql, now);
    this.obligations = obligations;
    this.desk = {
      env,
      now,
      // Every new fill is recorded as a hedge-fill fact with the fill itself (at submit, or later when a resting
      // or lost order's fills are learnt): the loop judges it against the hedge map.
      store: new OrderStore(
        ctx.storage.sql,
        now,
        () => this.armOutbox(),
        (order, fillId, before, after) => obligations.recordFill(order, fillId, before, after),
      ),
      sending: this.sending,
      background: new Set<Promise<unknown>>(),
      flushingHeld: null,
    };
  }

  private get store(): OrderStore {
    return this.desk.store;
  }

  /** The outbox alarm's delay and retry period, unless OUTBOX_ALARM_MS says otherwise (tests: an hour). */
  private outboxMs(normal: number): number {
    const ms = Number(this.env.OUTBOX_ALARM_MS);
    return Number.isFinite(ms) && ms >= 1_000 ? ms : normal;
  }

  /** The outbox alarm is a storage write, ordered with the change that needs it; set once per push. */
  private armOutbox(): void {
    if (this.alarmArmed) return;
    this.alarmArmed = true;
    void this.ctx.storage.setAlarm(Date.now() + this.outboxMs(FILL_PUSH_DELAY_MS));
  }

  /**
   * Settles once the bookkeeping calls sent without holding up an answer (`venueAnswered`) have returned, so a
   * test can await that event rather than wait for it.
   */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.desk.background]);
  }

  /**
   * Fills reach risk through a durable outbox: stored with the order's state change, pushed by this alarm
   * 200 ms later (with every other fill stored meanwhile) and, while anything is left, again every 5 s until
   * risk accepts (see orders/outbox.ts).
   */
  override async alarm(): Promise<void> {
    this.alarmArmed = false;
    const left = await drainOutbox(this.desk);
    if (left > 0 && !this.alarmArmed) {
      this.alarmArmed = true;
      await this.ctx.storage.setAlarm(Date.now() + this.outboxMs(FILL_RETRY_MS));
    }
  }

  async monitorStats(): Promise<Result<ExecutionMonitorStats>> {
    return ok({ ...this.store.monitorStats(), hedgeObligations: this.obligations.stats() });
  }

  async ping(): Promise<string> {
    this.store.ping();
    return "pong";
  }

  // ---- policy ----

  async getPolicy(): Promise<Result<ExecutionPolicyView>> {
    return ok(this.store.policy());
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
    const audited = await audit(this.desk, "execution.policy_changed", actor, {
      change,
      receipt: receipt?.requestId ?? null,
    });
    if (!audited.ok)
      return change.mode === "live" && receipt
        ? failedAfterRedeem(this.env.GOVERNANCE, receipt, audited.error, actor)
        : audited;
    // Read and write with no await between: a concurrent change cannot be lost.
    const next = applyPolicyChange(this.store.policy(), change, actor.subject, new Date().toISOString());
    this.store.savePolicy(next);
    return ok(next);
  }

  // ---- orders ----
  // `submit` and `place` stay two on purpose: they already share the one submission path (`submitOrder` in
  // orders/submit.ts: claim → decide → guard → paper | live, every order-state change and audit fact there),
  // and differ only in how risk's consumed decision is obtained, which they pass in as its one parameter
  // (`AskRisk`). What is left of each is that choice; their callers differ in what they hold (a decision id, or
  // none), which the RPC surface keeps as two validated signatures (`submitOrder`, `placeOrder`).

  /** Submit with a decision obtained beforehand (`RISK.evaluate(…, "decide")`), consumed here once. */
  async submit(
    intent: OrderIntent,
    decisionId: string,
    actor: Principal,
    context?: OrderContext,
  ): Promise<Result<OrderSubmission>> {
    return submitOrder(this.desk, { intent, actor, context, decisionId }, (intentHash) =>
      rpc(this.env.RISK, (risk) => risk.consume(decisionId, intentHash), {
        what: "consume",
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
    return submitOrder(this.desk, { intent, actor, context, decisionId: null }, () =>
      rpc(this.env.RISK, (risk) => risk.evaluate(intent, actor, "decide_and_consume"), {
        what: "evaluate(decide_and_consume)",
        timeoutMs: RPC_TIMEOUT_MS,
      }),
    );
  }

  async resolveUnknown(actor: Principal): Promise<Result<{ resolved: number; stillUnknown: number }>> {
    return resolveUnknown(this.desk, actor);
  }

  async getOrder(coid: string): Promise<Result<OrderView>> {
    const r = this.store.row(coid);
    return r ? ok(this.store.view(r)) : err(ErrorCode.notFound, `no order ${coid}`);
  }

  async listOrders(q: OrderQuery): Promise<Result<{ orders: OrderView[] }>> {
    return ok({ orders: this.store.list(q).map((r) => this.store.view(r)) });
  }

  async cancel(coid: string, actor: Principal): Promise<Result<OrderView>> {
    return cancelOrder(this.desk, coid, actor);
  }

  // ---- positions and reconciliation ----

  async getPositions(): Promise<Result<{ positions: ExecutionPosition[] }>> {
    return ok({ positions: this.store.positions() });
  }

  async reconcile(actor: Principal): Promise<Result<ReconciliationReport>> {
    const tolerance = Math.max(0, Math.trunc(Number(this.env.RECON_TOLERANCE ?? "0")) || 0);
    return reconcile(this.desk, actor, tolerance);
  }

  /**
   * A strategy's position as risk will judge an order against it: every stored fill is reported to risk first
   * (orders/outbox.ts); `unreported` counts those risk has not taken (then the position is ahead of risk's).
   */
  async reportedPositionIn(
    venue: Venue,
    market: string,
    mode: ExecutionMode,
    strategyId: string,
  ): Promise<{ position: number; unreported: number }> {
    const unreported = await reportFillsNow(this.desk);
    return { position: this.store.positionIn(venue, market, mode, strategyId), unreported };
  }

  /** A strategy's filled position in one market and mode (risk checks effects per strategy too). */
  async positionIn(venue: Venue, market: string, mode: ExecutionMode, strategyId: string): Promise<number> {
    return this.store.positionIn(venue, market, mode, strategyId);
  }

  // ---- hedge obligations ----

  /** New fills on signal orders (of one order, or all) not judged against the hedge map yet, oldest first. */
  async pendingHedgeFills(limit: number, clientOrderId?: string): Promise<HedgeFill[]> {
    return this.obligations.pendingFills(limit, clientOrderId ?? null);
  }

  /**
   * Apply the loop's judgement of a fill (see `HedgeObligationStore.resolveFill`); an obligation it opened is
   * audited as `execution.hedge_owed` (a fact: kept, and the audit held in the outbox if the chain refuses it).
   */
  async resolveHedgeFill(
    fill: Pick<HedgeFill, "fillId" | "filledBefore" | "filledAfter">,
    judged: FillHedge,
    actor: Principal,
  ): Promise<HedgeObligationView | null> {
    const opened = this.obligations.resolveFill(fill.fillId, judged);
    if (!opened) return null;
    // The fact is kept in the same storage turn as the obligation (no await between: one atomic write), so a
    // restart between the two cannot lose it; then appended now, after any fact held before it.
    this.store.holdAudit({
      type: "execution.hedge_owed",
      service: "execution",
      actor,
      payload: { obligation: opened, filledBefore: fill.filledBefore, filledAfter: fill.filledAfter },
    });
    if ((await flushHeldAudits(this.desk)) > 0) this.armOutbox();
    return opened;
  }

  async getHedgeObligation(obligationId: string): Promise<HedgeObligationView | null> {
    return this.obligations.get(obligationId);
  }

  /** The obligations of one state and the fills not judged yet (see HedgeObligationsView). */
  async listHedgeObligations(q: HedgeObligationQuery): Promise<Result<HedgeObligationsView>> {
    return ok({
      obligations: this.obligations.list(q),
      undetermined: this.obligations.undetermined(q.limit ?? HEDGE_LIST_LIMIT),
    });
  }

  /**
   * One step of an obligation's table, audited: a failed attempt as `execution.hedge_pending`, a placed hedge as
   * `execution.hedge_placed` (facts: the step is kept and the audit held in the outbox if the chain refuses it).
   */
  async hedgeObligationStep(
    obligationId: string,
    event: Exclude<HedgeObligationEvent, "abandoned">,
    hedgeOrderId: string,
    patch: Omit<ObligationPatch, "hedgeOrderId">,
    actor: Principal,
  ): Promise<Result<HedgeObligationView>> {
    const placed = event === "hedge_placed";
    const stepped = this.obligations.step(obligationId, event, placed ? { ...patch, hedgeOrderId } : patch);
    if (!stepped.ok) return stepped;
    const obligation = stepped.value;
    if (placed)
      await auditFact(this.desk, "execution.hedge_placed", actor, {
        obligation,
        hedgeOrderId,
        openSeconds: Math.max(0, Math.floor((Date.now() - Date.parse(obligation.firstSeenAt)) / 1000)),
      });
    else
      await auditFact(this.desk, "execution.hedge_pending", actor, {
        obligation,
        hedgeOrderId,
        reason: obligation.lastReason ?? "",
      });
    return stepped;
  }

  /** An operator takes an open obligation over: audited first (fail closed), then no longer retried. */
  async abandonHedgeObligation(
    obligationId: string,
    reason: string,
    actor: Principal,
  ): Promise<Result<HedgeObligationView>> {
    const current = this.obligations.get(obligationId);
    if (!current) return err(ErrorCode.notFound, `no hedge obligation ${obligationId}`);
    if (current.state !== "open")
      return err(ErrorCode.conflict, `hedge obligation ${obligationId} is ${current.state}, not open`);
    const audited = await audit(this.desk, "execution.hedge_abandoned", actor, {
      obligation: { ...current, state: "abandoned" },
      reason,
    });
    if (!audited.ok) return audited;
    return this.obligations.step(obligationId, "abandoned", {
      reason: `abandoned by ${actor.email ?? actor.subject}: ${reason}`,
    });
  }

  /** The mode a strategy's next order would use. */
  async modeFor(strategyId: string): Promise<ExecutionMode> {
    return effectiveMode(this.store.policy(), strategyId);
  }
}

export type { PositionDrift };
