import {
  type AuditEvent,
  type ConsumedDecision,
  ErrorCode,
  type ExecutionMode,
  err,
  INTENT_HASH_DOMAIN,
  type OrderBookSnapshot,
  type OrderContext,
  type OrderIntent,
  type OrderSubmission,
  ok,
  type Principal,
  type Result,
  type RiskDecision,
} from "@paulp/contracts";
import { canonicalHash, rpc } from "@paulp/kit";
import { backoffLeftMs } from "../backoff";
import { effectiveMode } from "../policy";
import { preTradeVerdict } from "../pre-trade";
import { audit, auditFact, auditMany, type OrderDesk, RPC_TIMEOUT_MS } from "./desk";
import { executeLive } from "./live";
import { planPaper } from "./paper";

/** Risk errors after which it certainly stored and reserved nothing (anything else may hide a decision). */
const DECIDED_NOTHING = new Set<string>([ErrorCode.validationFailed, ErrorCode.auditUnavailable]);

/** One order as asked: `decisionId` is null when risk decides during the call (`place`). */
export interface OrderRequest {
  intent: OrderIntent;
  actor: Principal;
  context: OrderContext | undefined;
  decisionId: string | null;
}

/** How risk's consumed decision is obtained for an intent hash (evaluate-and-consume, or consume a given id). */
export type AskRisk = (intentHash: string) => Promise<Result<ConsumedDecision>>;

/**
 * The one submission path, in named steps: claim (the row, before any await), decide (risk, the pre-trade
 * checks and a paper book, at once), guard (what risk and the checks said, the breaker), then paper or live.
 */
export async function submitOrder(
  desk: OrderDesk,
  req: OrderRequest,
  askRisk: AskRisk,
): Promise<Result<OrderSubmission>> {
  const intentHash = await canonicalHash(INTENT_HASH_DOMAIN, req.intent);
  const claimed = claim(desk, req, intentHash);
  if (!claimed.ok || "order" in claimed.value) return claimed as Result<OrderSubmission>;
  const { mode } = claimed.value;
  const decided = await decide(desk, req, mode, intentHash, askRisk);
  const guarded = await guard(desk, req, intentHash, decided);
  if (!guarded.ok) return guarded;
  const submitted: AuditEvent<"execution", "execution.order_submitted"> = {
    type: "execution.order_submitted",
    service: "execution",
    actor: req.actor,
    payload: {
      clientOrderId: req.intent.clientOrderId,
      intent: req.intent,
      intentHash,
      decisionId: guarded.value.decision.decisionId,
      mode,
      context: req.context ?? null,
      compliance: guarded.value.compliance,
    },
  };
  return mode === "paper"
    ? fillPaper(desk, req, guarded.value.decision, submitted, decided.book)
    : sendLive(desk, req, guarded.value.decision, submitted);
}

/**
 * Claim: the order row is written, keyed by its client order id, before any await that could reach risk or a
 * venue, so concurrent duplicates find it and never send twice. Synchronous. A duplicate answers the order
 * already there; a venue in its rate-limit backoff is left alone (nothing claimed, decided or sent).
 */
function claim(
  desk: OrderDesk,
  req: OrderRequest,
  intentHash: string,
): Result<{ mode: ExecutionMode } | OrderSubmission> {
  const { store } = desk;
  const { intent } = req;
  const existing = store.row(intent.clientOrderId);
  if (existing) {
    if (existing.intent_hash !== intentHash)
      return err(
        ErrorCode.conflict,
        `client order id ${intent.clientOrderId} is already used by a different intent`,
      );
    return ok({ order: store.view(existing), duplicate: true });
  }
  const mode = effectiveMode(store.policy(), intent.strategyId);
  const waitMs = mode === "live" ? backoffLeftMs(store.backoff(intent.venue), desk.now()) : 0;
  if (waitMs > 0)
    return err(
      ErrorCode.rateLimited,
      `${intent.venue} rate-limited our orders: backing off, retry in ${Math.ceil(waitMs / 1000)} s`,
      {
        venue: intent.venue,
        retryAfterSeconds: Math.ceil(waitMs / 1000),
      },
    );
  store.insertClaim({ intent, intentHash, decisionId: req.decisionId, mode, context: req.context });
  return ok({ mode });
}

interface Decided {
  claimed: Result<ConsumedDecision>;
  book: Result<OrderBookSnapshot> | null;
  preTrade: Awaited<ReturnType<typeof preTrade>>;
}

/**
 * Decide, with the claim durable: risk's decision (which reads the breaker in the same call and answers what
 * it read), a paper fill's book (a read, not an action) and the order's references and the market's
 * compliance under the rules in force now (every order: paper and live, manual and loop), all at once.
 */
async function decide(
  desk: OrderDesk,
  req: OrderRequest,
  mode: ExecutionMode,
  intentHash: string,
  askRisk: AskRisk,
): Promise<Decided> {
  const { intent } = req;
  const venue = intent.venue;
  const [claimed, book, checked] = await Promise.all([
    askRisk(intentHash),
    mode === "paper" && venue !== "ibkr"
      ? rpc(desk.env.INGESTION, (ingestion) => ingestion.getOrderBook(venue, intent.market, 120), {
          what: "getOrderBook",
          timeoutMs: RPC_TIMEOUT_MS,
        })
      : null,
    preTrade(desk, intent),
  ]);
  return { claimed, book, preTrade: checked };
}

/** The order's strategy and evidence exist, and its market's compliance verdict now (see pre-trade.ts). */
async function preTrade(desk: OrderDesk, intent: OrderIntent) {
  const [strategy, check] = await Promise.all([
    rpc(desk.env.GOVERNANCE, (governance) => governance.getStrategy(intent.strategyId), {
      what: "getStrategy",
      timeoutMs: RPC_TIMEOUT_MS,
    }),
    rpc(
      desk.env.INGESTION,
      (ingestion) => ingestion.preTradeCheck(intent.venue, intent.market, intent.evidenceHashes),
      { what: "preTradeCheck", timeoutMs: RPC_TIMEOUT_MS },
    ),
  ]);
  return preTradeVerdict(intent, strategy, check);
}

/**
 * Guard: refuse unless the pre-trade checks passed, risk approved this exact intent and the breaker it read
 * allows the order. Anything short of an approval for a call where risk decided (`decisionId` null) removes
 * the claim row again: nothing was decided for it, nothing was sent. Answers the decision to go on with.
 */
async function guard(
  desk: OrderDesk,
  req: OrderRequest,
  intentHash: string,
  { claimed, preTrade }: Decided,
): Promise<Result<{ decision: RiskDecision; compliance: PreTradeRecord }>> {
  const { store } = desk;
  const { intent, actor } = req;
  const coid = intent.clientOrderId;
  if (!preTrade.ok) {
    // Refused whatever risk said: an approval it consumed is released with the ended order (the outbox).
    if (claimed.ok && claimed.value.decision.approved) store.storeDecision(coid, claimed.value.decision);
    return refuse(desk, coid, actor, preTrade.code, preTrade.message, true, preTrade.details);
  }
  if (req.decisionId === null && (!claimed.ok || !claimed.value.decision.approved)) {
    // Risk may have decided and reserved without us hearing it (a timeout, a dropped connection): then the
    // order ends as rejected, so the outbox tells risk to release whatever it reserved under this id.
    if (!claimed.ok && !DECIDED_NOTHING.has(claimed.error.code))
      return refuse(desk, coid, actor, claimed.error.code, `risk did not answer: ${claimed.error.message}`);
    store.withdrawClaim(coid);
    if (!claimed.ok) return claimed;
    const d = claimed.value.decision;
    return err(ErrorCode.riskDenied, d.reasons.map((r) => r.message).join("; ") || "denied", {
      decisionId: d.decisionId,
      reasons: d.reasons,
    });
  }
  if (!claimed.ok) {
    // Risk refused an opening decision because it read HALT: say so, as our own check below would.
    return refuse(
      desk,
      coid,
      actor,
      claimed.error.code === ErrorCode.breakerHalted ? ErrorCode.breakerHalted : ErrorCode.riskDenied,
      `decision refused: ${claimed.error.code}: ${claimed.error.message}`,
    );
  }
  const decision = claimed.value.decision;
  const refuseDecided = (code: string, message: string) => {
    store.storeDecision(coid, decision);
    return refuse(desk, coid, actor, code, message);
  };
  if (!decision.approved || decision.intentHash !== intentHash)
    return refuseDecided(ErrorCode.riskDenied, "decision does not approve this exact intent");
  const opening = intent.effect === "open" || intent.effect === "increase";
  // Risk already refuses an opening decision it consumed in HALT; checked here too (defence in depth).
  const breaker = claimed.value.breaker;
  if (!breaker || typeof breaker.state !== "string")
    return refuseDecided(ErrorCode.serviceUnavailable, "breaker state unknown: risk did not answer it");
  if (breaker.state === "HALT" && opening)
    return refuseDecided(ErrorCode.breakerHalted, "circuit breaker is HALT: opening orders are refused");
  return ok({ decision, compliance: preTrade.record });
}

/** What the pre-trade check recorded for an order it let through. */
type PreTradeRecord = Extract<Decided["preTrade"], { ok: true }>["record"];

/** End the claim as rejected (audited unless the audit is what failed) and answer the refusal. */
async function refuse(
  desk: OrderDesk,
  coid: string,
  actor: Principal,
  code: string,
  message: string,
  audited = true,
  details: Record<string, unknown> = {},
): Promise<Result<never>> {
  desk.store.move(coid, "rejected", message);
  if (audited)
    await audit(desk, "execution.order_refused", actor, { clientOrderId: coid, code, reason: message });
  return err(code, message, { clientOrderId: coid, ...details });
}

/**
 * Paper: nothing leaves, so the outcome is known before anything is recorded. The submission and its outcome
 * are appended together, atomically (all or none), and only then applied: an audit failure leaves the order
 * rejected with nothing filled.
 */
async function fillPaper(
  desk: OrderDesk,
  req: OrderRequest,
  decision: RiskDecision,
  submitted: AuditEvent<"execution", "execution.order_submitted">,
  book: Result<OrderBookSnapshot> | null,
): Promise<Result<OrderSubmission>> {
  const { store } = desk;
  const coid = req.intent.clientOrderId;
  const plan = planPaper(req.intent, book);
  const audited = await auditMany(desk, [
    submitted,
    {
      type: "execution.order_outcome",
      service: "execution",
      actor: req.actor,
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
  store.storeDecision(coid, decision);
  if (!audited.ok)
    return refuse(desk, coid, req.actor, ErrorCode.auditUnavailable, audited.error.message, false);
  store.move(coid, plan.state, plan.reason);
  store.storeFills(coid, plan.filled, plan.avgPrice, plan.fee);
  return ok({ order: store.viewOf(coid), duplicate: false });
}

/** Live: the submission is recorded before anything is sent; the outcome after the venue answered. */
async function sendLive(
  desk: OrderDesk,
  req: OrderRequest,
  decision: RiskDecision,
  submitted: AuditEvent<"execution", "execution.order_submitted">,
): Promise<Result<OrderSubmission>> {
  const { store } = desk;
  const { intent, actor } = req;
  const coid = intent.clientOrderId;
  const audited = await audit(desk, submitted.type, actor, submitted.payload);
  if (!audited.ok) {
    store.storeDecision(coid, decision);
    return refuse(desk, coid, actor, ErrorCode.auditUnavailable, audited.error.message, false);
  }
  // The policy is read again with no await before the send: a switch to paper (the kill switch) made while
  // this order waited for risk or the audit stops it here.
  if (effectiveMode(store.policy(), intent.strategyId) !== "live") {
    store.storeDecision(coid, decision);
    return refuse(
      desk,
      coid,
      actor,
      ErrorCode.conflict,
      "the execution policy moved to paper while this order was decided: nothing sent",
    );
  }
  if (store.row(coid)?.state !== "pending_submit")
    return err(ErrorCode.conflict, `order ${coid} was ended while it was decided: nothing sent`);
  store.storeDecision(coid, decision);
  await executeLive(desk, coid, intent, actor);
  const final = store.row(coid)!;
  await auditFact(desk, "execution.order_outcome", actor, {
    clientOrderId: coid,
    state: final.state,
    filled: final.filled,
    avgPrice: final.avg_price,
    venueOrderId: final.venue_order_id,
    reason: final.reason,
  });
  return ok({ order: store.view(final), duplicate: false });
}
