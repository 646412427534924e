import { WorkerEntrypoint } from "cloudflare:workers";
import type { ExecutionRpc } from "@paulp/contracts";
import {
  ApprovalReceipt,
  type ApprovalReceiptRef,
  ErrorCode,
  type ExecutionMonitorStats,
  ExecutionPolicyChange,
  type ExecutionPolicyView,
  type ExecutionPosition,
  err,
  type FastPathStatus,
  type FastPathTick,
  type HealthReport,
  HedgeObligationAbandon,
  HedgeObligationQuery,
  type HedgeObligationsView,
  type HedgeObligationView,
  OrderContext,
  OrderIntent,
  OrderQuery,
  type OrderSubmission,
  type OrderView,
  ok,
  Principal,
  type ReconciliationReport,
  type Result,
  systemPrincipal,
  type TradedMarket,
  type TradingLoopReport,
} from "@paulp/contracts";
import { parseInput, rpc, runHealthChecks, serve, withTimeout } from "@paulp/kit";
import * as v from "valibot";
import type { Env } from "./env";
import { refresher } from "./fast/refresher";
import { orderManager, runTradingLoop } from "./loop";

/** How long a loop run waits for the fast path to refresh what was never refreshed (a tick is a few seconds). */
const FAST_PATH_PRIME_TIMEOUT_MS = 30_000;

import { loadTradedMarkets } from "./traded";
import { venueClients } from "./venues/clients";

export { MarkRefresher } from "./fast/refresher";
export { OrderManager } from "./order-manager";

const ClientOrderId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{8,64}$/, "8–64 of [A-Za-z0-9_-]"));
const Receipt = v.optional(ApprovalReceipt);
/** Why an operator takes an obligation over: said in the audit chain, so required and bounded. */
const AbandonReason = HedgeObligationAbandon.entries.reason;
const Place = v.object({ intent: OrderIntent, actor: Principal, context: v.optional(OrderContext) });
const Submit = v.object({
  ...Place.entries,
  decisionId: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
});

/** A failure inside execution answers `internal_error`, named "execution failed: …". */
const OWN = { what: "execution", code: ErrorCode.internal } as const;

export class ExecutionEntrypoint extends WorkerEntrypoint<Env> implements ExecutionRpc {
  async health(): Promise<HealthReport> {
    return runHealthChecks("execution", {
      order_manager: async () => orderManager(this.env).ping(),
      // Informative (never failing): the monitor alerts on old obligations; /admin/status shows them at a glance.
      hedge_obligations: async () => {
        const stats = await orderManager(this.env).monitorStats();
        if (!stats.ok) return "unknown";
        const h = stats.value.hedgeObligations;
        return h.open === 0
          ? "none open"
          : `${h.open} open, ${h.unhedgedQuantity} share(s) unhedged, oldest ${h.oldestAgeSeconds} s`;
      },
      // Missing keys are only unhealthy when something could go live: paper needs none.
      kalshi_credentials: async () => {
        if (this.env.KALSHI_API_KEY && this.env.KALSHI_PRIVATE_KEY) return "configured";
        const policy = await orderManager(this.env).getPolicy();
        if (!policy.ok || policy.value.global === "live")
          throw new Error("global policy is live but KALSHI_API_KEY / KALSHI_PRIVATE_KEY are not set");
        return "not set: paper only";
      },
    });
  }

  async getPolicy(): Promise<Result<ExecutionPolicyView>> {
    return rpc(() => orderManager(this.env).getPolicy(), OWN);
  }

  async setPolicy(
    change: ExecutionPolicyChange,
    actor: Principal,
    receipt?: ApprovalReceiptRef,
  ): Promise<Result<ExecutionPolicyView>> {
    return serve(
      OWN,
      [v.object({ change: ExecutionPolicyChange, actor: Principal, receipt: Receipt })],
      [{ change, actor, receipt }],
      (input) => orderManager(this.env).setPolicy(input.change, input.actor, input.receipt),
    );
  }

  async submitOrder(
    intent: OrderIntent,
    decisionId: string,
    actor: Principal,
    context?: OrderContext,
  ): Promise<Result<OrderSubmission>> {
    return serve(OWN, [Submit], [{ intent, decisionId, actor, context }], (input) =>
      orderManager(this.env).submit(input.intent, input.decisionId, input.actor, input.context),
    );
  }

  async placeOrder(
    intent: OrderIntent,
    actor: Principal,
    context?: OrderContext,
  ): Promise<Result<OrderSubmission>> {
    return serve(OWN, [Place], [{ intent, actor, context }], (input) =>
      orderManager(this.env).place(input.intent, input.actor, input.context),
    );
  }

  async listOrders(query: OrderQuery): Promise<Result<{ orders: OrderView[] }>> {
    return serve(OWN, [OrderQuery], [query ?? {}], (input) => orderManager(this.env).listOrders(input));
  }

  async getOrder(clientOrderId: string): Promise<Result<OrderView>> {
    return serve(OWN, [ClientOrderId], [clientOrderId], (input) => orderManager(this.env).getOrder(input));
  }

  async cancelOrder(clientOrderId: string, actor: Principal): Promise<Result<OrderView>> {
    return serve(
      OWN,
      [v.object({ id: ClientOrderId, actor: Principal })],
      [{ id: clientOrderId, actor }],
      (input) => orderManager(this.env).cancel(input.id, input.actor),
    );
  }

  async getPositions(): Promise<Result<{ positions: ExecutionPosition[] }>> {
    return rpc(() => orderManager(this.env).getPositions(), OWN);
  }

  async resolveUnknown(actor: Principal): Promise<Result<{ resolved: number; stillUnknown: number }>> {
    return serve(OWN, [Principal], [actor], (input) => orderManager(this.env).resolveUnknown(input));
  }

  async reconcile(actor: Principal): Promise<Result<ReconciliationReport>> {
    return serve(OWN, [Principal], [actor], (input) => orderManager(this.env).reconcile(input));
  }

  async runTradingLoop(actor: Principal): Promise<Result<TradingLoopReport>> {
    const input = parseInput(Principal, actor);
    if (!input.ok) return input;
    // Every loop run (the cron's, or a manual one in local dev) makes sure the fast path's alarm is set, and
    // first refreshes what is traded but was never refreshed (bounded: past it the loop decides anyway, and risk
    // still refuses a stale mark).
    const fast = refresher(this.env);
    await withTimeout(
      fast.kick().then(() => fast.refreshUnseen()),
      FAST_PATH_PRIME_TIMEOUT_MS,
      "fast path refreshUnseen",
    ).catch((e: unknown) => console.error("fast path kick failed", (e as Error)?.message));
    return rpc(() => runTradingLoop(this.env, input.value, Date.now()), {
      what: "execution",
      code: ErrorCode.internal,
    });
  }

  async tradedMarkets(): Promise<Result<TradedMarket[]>> {
    return loadTradedMarkets(this.env);
  }

  async refreshTradedNow(): Promise<Result<FastPathTick>> {
    try {
      const stub = refresher(this.env);
      await stub.kick();
      return ok(await stub.tickNow());
    } catch (e) {
      return err(ErrorCode.internal, `execution fast path: ${(e as Error).message}`);
    }
  }

  async fastPathStatus(): Promise<Result<FastPathStatus>> {
    try {
      return ok(await refresher(this.env).status());
    } catch (e) {
      return err(ErrorCode.internal, `execution fast path: ${(e as Error).message}`);
    }
  }

  async monitorStats(): Promise<Result<ExecutionMonitorStats>> {
    return rpc(() => orderManager(this.env).monitorStats(), OWN);
  }

  async listHedgeObligations(query: HedgeObligationQuery): Promise<Result<HedgeObligationsView>> {
    return serve(OWN, [HedgeObligationQuery], [query ?? {}], (input) =>
      orderManager(this.env).listHedgeObligations(input),
    );
  }

  async abandonHedgeObligation(
    obligationId: string,
    reason: string,
    actor: Principal,
  ): Promise<Result<HedgeObligationView>> {
    // An obligation id is a client order id, or one with `_f<hundredths>` (a later batch): the same alphabet.
    return serve(
      OWN,
      [v.object({ id: ClientOrderId, reason: AbandonReason, actor: Principal })],
      [{ id: obligationId, reason, actor }],
      (input) => orderManager(this.env).abandonHedgeObligation(input.id, input.reason, input.actor),
    );
  }

  /** "* * * * *": resolve unknowns, keep the IBKR session alive, run the loop. "*\/15": reconcile. */
  override async scheduled(controller: ScheduledController): Promise<void> {
    if (controller.cron === "*/15 * * * *") {
      const r = await this.reconcile(systemPrincipal("cron:reconcile"));
      if (!r.ok) console.error("reconciliation failed", r.error.code, r.error.message);
      return;
    }
    const actor = systemPrincipal("cron:execution");
    // Keep the IBKR gateway's session alive (/tickle: it times out after minutes without a request), and bring
    // a lapsed brokerage session back before an order needs it (reauthenticate, then poll, bounded).
    const ibkr = venueClients(this.env).ibkr;
    if (ibkr.configured) {
      const t = await ibkr.keepAlive();
      if (!t.ok) console.error("ibkr keep-alive failed", t.error.kind, t.error.message);
    }
    await this.resolveUnknown(actor);
    const r = await this.runTradingLoop(actor);
    if (!r.ok) console.error("trading loop failed", r.error.code, r.error.message);
  }
}

export default ExecutionEntrypoint;
