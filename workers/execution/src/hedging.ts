import type {
  HedgeObligationView,
  OrderSubmission,
  OrderView,
  Principal,
  Result,
  TradingLoopReport,
} from "@paulp/contracts";
import { ok } from "@paulp/contracts";
import { rpc } from "@paulp/kit";
import type { Env } from "./env";
import { type HedgeMap, hedgeEntryFor, planHedge } from "./hedge";
import {
  type AttemptOutcome,
  attemptOutcome,
  hedgeAttemptKey,
  hedgeOwedByFill,
  needsCategory,
  type ReadHedgeMap,
} from "./hedge-obligations";
import { deriveClientOrderId } from "./orders/ids";

/** How long an attempt waits on risk for the instrument's mark. */
const MARK_TIMEOUT_MS = 5_000;
/** Open obligations one run retries at most (oldest first); the rest wait for the next run. */
export const HEDGE_RETRIES_PER_RUN = 20;

/** What one attempt did: the hedge order id it used, whether the obligation is now closed, and why not. */
export interface HedgeAttempt {
  hedgeOrderId: string;
  placed: boolean;
  /** As the run reports it: `hedge_not_placed: …` (no order was sent), or the order's refusal or outcome. */
  reason: string | null;
}

function om(env: Env) {
  return env.ORDER_MANAGER.get(env.ORDER_MANAGER.idFromName("orders"));
}

/** How many unjudged fills one run judges at most (oldest first); the rest wait for the next run. */
export const HEDGE_FILLS_PER_RUN = 100;
/** How long judging a fill waits on ingestion for its market's category. */
const CATEGORY_TIMEOUT_MS = 5_000;

/**
 * Judge the fills the order manager recorded since the last run (at submit, or later: a resting or lost order's
 * fills learnt by a poll) against the hedge map, each into an obligation for exactly the shares it adds, or
 * nothing; `onlyOrder`: that order's only (the loop's own fill, just made). A market's category is read only
 * when the map needs it (`categories`: what the run knows already, then ingestion). Undetermined ones stay
 * (counted as open) and are named in what this answers.
 */
export async function judgeHedgeFills(
  env: Env,
  hedges: ReadHedgeMap,
  actor: Principal,
  categories: Map<string, Result<string | null>> = new Map(),
  onlyOrder?: string,
): Promise<{ opened: HedgeObligationView[]; undetermined: string[] }> {
  const manager = om(env);
  const pending = await manager.pendingHedgeFills(HEDGE_FILLS_PER_RUN, onlyOrder);
  const opened: HedgeObligationView[] = [];
  const undetermined: string[] = [];
  for (const fill of pending) {
    let category = categories.get(fill.market) ?? null;
    if (!category && !hedges.error && needsCategory(hedges.map, fill.market)) {
      const read = await rpc(env.INGESTION, (ingestion) => ingestion.getMarket("kalshi", fill.market), {
        what: "getMarket",
        timeoutMs: CATEGORY_TIMEOUT_MS,
      });
      category = read.ok ? ok(read.value.category) : read;
      categories.set(fill.market, category);
    }
    const judged = hedgeOwedByFill(hedges, fill, category);
    if (judged.kind === "undetermined")
      undetermined.push(
        `hedge of fill ${fill.fillId} undetermined (kept, counted as open): ${judged.reason}`,
      );
    const o = (await manager.resolveHedgeFill(fill, judged, actor)) as HedgeObligationView | null;
    if (o) opened.push(o);
  }
  return { opened, undetermined };
}

/** The first attempt at an obligation just opened for a fill at submit (later runs retry it while open). */
export async function hedgeFill(
  env: Env,
  map: HedgeMap,
  obligationId: string,
  actor: Principal,
  clock: () => number,
): Promise<HedgeAttempt | null> {
  const obligation = (await om(env).getHedgeObligation(obligationId)) as HedgeObligationView | null;
  if (obligation?.state !== "open") return null;
  return attemptHedge(env, map, obligation, actor, clock);
}

/** Retry the open obligations (oldest first, bounded), each once; what each did, for the run's report. */
export async function retryHedgeObligations(
  env: Env,
  map: HedgeMap,
  actor: Principal,
  clock: () => number,
): Promise<NonNullable<TradingLoopReport["hedgeRetries"]>> {
  const open = await om(env).listHedgeObligations({ state: "open", limit: HEDGE_RETRIES_PER_RUN });
  if (!open.ok) return [];
  const out: NonNullable<TradingLoopReport["hedgeRetries"]> = [];
  for (const o of open.value.obligations) {
    const a = await attemptHedge(env, map, o, actor, clock);
    out.push({
      clientOrderId: o.clientOrderId,
      obligationId: o.obligationId,
      hedgeOrderId: a.hedgeOrderId,
      outcome: a.placed ? "placed" : "open",
      reason: a.reason,
    });
  }
  return out;
}

/**
 * One attempt at an open obligation, under the attempt's own client order id (hedge-obligations.ts). An order
 * already under that id (an attempt whose outcome was never recorded) is judged, never sent again. Otherwise the
 * hedge is priced from the instrument's mark now (planHedge: no fresh mark, nothing placed) and takes the one
 * order path (risk decides, the order manager submits). The obligation steps by what came of it.
 */
async function attemptHedge(
  env: Env,
  map: HedgeMap,
  o: HedgeObligationView,
  actor: Principal,
  clock: () => number,
): Promise<HedgeAttempt> {
  const manager = om(env);
  const hedgeOrderId = await deriveClientOrderId(
    o.strategyId,
    hedgeAttemptKey(o.obligationId, o.attempts + 1),
    "ibkr",
  );
  const settle = async (outcome: AttemptOutcome, reportReason: string | null): Promise<HedgeAttempt> => {
    const stepped = (
      outcome.kind === "placed"
        ? await manager.hedgeObligationStep(o.obligationId, "hedge_placed", hedgeOrderId, {}, actor)
        : await manager.hedgeObligationStep(
            o.obligationId,
            "attempt_failed",
            hedgeOrderId,
            { reason: outcome.reason, quantity: outcome.remaining },
            actor,
          )
    ) as Result<HedgeObligationView>;
    if (!stepped.ok) console.error("hedge obligation step refused", o.obligationId, stepped.error.message);
    return { hedgeOrderId, placed: outcome.kind === "placed", reason: reportReason };
  };
  const failed = (reason: string, report = reason) =>
    settle({ kind: "failed", remaining: o.quantity, reason }, report);
  const judged = (order: OrderView) => {
    const outcome = attemptOutcome(order, o.quantity);
    return settle(outcome, outcome.kind === "placed" ? null : outcome.reason);
  };

  const earlier = await manager.getOrder(hedgeOrderId);
  if (earlier.ok) return judged(earlier.value);

  const entry = hedgeEntryFor(map, o.market, o.category);
  if (!entry || String(entry.conid) !== o.conid)
    return failed(
      `hedge ${o.side} ${o.quantity} ibkr:${o.conid} not placed: the hedge map no longer maps ${o.market} to it`,
    );
  const mode = await manager.modeFor(o.strategyId);
  // Risk judges the hedge's effect against the fills it holds, and the order manager reports fills a moment after
  // storing them: an earlier hedge on this instrument in the same run would otherwise count here and not there
  // (EFFECT_MISMATCH). The position is read once its fills are reported; with risk not taking them, the attempt
  // waits for the next run.
  const [held, mark] = await Promise.all([
    manager.reportedPositionIn("ibkr", o.conid, mode, o.strategyId),
    rpc(env.RISK, (risk) => risk.getMark("ibkr", o.conid), { what: "getMark", timeoutMs: MARK_TIMEOUT_MS }),
  ]);
  if (held.unreported > 0)
    return failed(
      `hedge ${o.side} ${o.quantity} ibkr:${o.conid} not placed: ${held.unreported} fill(s) not yet reported to risk, which judges the hedge against the position`,
    );
  const position = held.position;
  // The mark is judged when the hedge is priced, not when the run began.
  const plan = planHedge(
    entry,
    {
      side: o.fillSide,
      filled: o.filled,
      shares: o.quantity,
      strategyId: o.strategyId,
      evidenceHashes: o.evidenceHashes,
    },
    hedgeOrderId,
    position,
    mark,
    clock(),
  );
  if (!plan) return failed(`hedge of ${o.quantity} ibkr:${o.conid} not placed: the map's entry is unusable`);
  // Fail closed: no hedge at a blind price. The obligation stays open, retried by the next run and alerted on.
  if (plan.kind === "not_placed") return failed(plan.reason, `hedge_not_placed: ${plan.reason}`);
  if (plan.intent.side !== o.side)
    return failed(
      `hedge ${o.side} ${o.quantity} ibkr:${o.conid} not placed: the hedge map's direction for ${o.market} changed`,
    );
  const placed = (await manager.place(plan.intent, actor, {
    kind: "hedge",
    hedgeOf: o.clientOrderId,
    pairId: o.pairId,
    note: plan.pricing,
  })) as Result<OrderSubmission>;
  if (!placed.ok) return failed(`${placed.error.code}: ${placed.error.message}`);
  return judged(placed.value.order);
}
