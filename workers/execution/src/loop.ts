import {
  err,
  type MarketVenue,
  type OrderIntent,
  type OrderSubmission,
  ok,
  type Principal,
  type Result,
  type StrategySummary,
  type TradablePair,
  type TradingLoopReport,
} from "@paulp/contracts";
import { auditAppend, type ContractOf, rpc } from "@paulp/kit";
import { crossVenueSignal, DECISION_BOOK_MAX_AGE_SECONDS, rvParams } from "@paulp/strategy";
import type { Env } from "./env";
import { parseHedgeMap } from "./hedge";
import { hedgeFill, judgeHedgeFills, retryHedgeObligations } from "./hedging";
import { deriveClientOrderId } from "./orders/ids";

/** The strategy kind this loop trades. */
export const RV_KIND = "cross_venue_rv";

/** How long the loop waits on governance and ingestion for each read. */
const READ_TIMEOUT_MS = 5_000;

export function orderManager(env: Env) {
  return env.ORDER_MANAGER.get(env.ORDER_MANAGER.idFromName("orders"));
}

/** Risk decides and the order manager submits in one call: the one path every order (signal or hedge) takes. */
export async function decideAndSubmit(
  env: Env,
  intent: OrderIntent,
  actor: Principal,
  context: Parameters<ReturnType<typeof orderManager>["place"]>[2],
): Promise<Result<{ state: string; filled: number }>> {
  // No timeout here: once the order manager has the intent it runs to an outcome, which the caller must see.
  const sub = (await orderManager(env).place(intent, actor, context)) as Result<OrderSubmission>;
  if (!sub.ok) return err(sub.error.code, sub.error.message, sub.error.details);
  return ok({ state: sub.value.order.state, filled: sub.value.order.filledQuantity });
}

/**
 * One run of cross-venue relative value: owed hedges first, then for every active strategy of this kind and every
 * tradable pair still covered by its review, `tradePair`. The client order id is derived from (strategy, pair,
 * minute, leg), so a repeated run within a minute cannot double-trade.
 */
export async function runTradingLoop(
  env: Env,
  actor: Principal,
  nowMs: number,
  clock: () => number = Date.now,
): Promise<Result<TradingLoopReport>> {
  const hedges = parseHedgeMap(env.HEDGE_MAP);
  // Owed hedges first, whatever governance says now (the exposure is there): fills recorded since the last run
  // (a resting or lost order's, learnt by a poll) become obligations, then every open one is retried.
  const judged = await judgeHedgeFills(env, hedges, actor);
  const hedgeRetries = await retryHedgeObligations(env, hedges.map, actor, clock);
  const [strategies, pairs] = await Promise.all([
    rpc(env.GOVERNANCE, (governance) => governance.activeStrategies(), {
      what: "activeStrategies",
      timeoutMs: READ_TIMEOUT_MS,
    }),
    rpc(env.GOVERNANCE, (governance) => governance.tradablePairs(), {
      what: "tradablePairs",
      timeoutMs: READ_TIMEOUT_MS,
    }),
  ]);
  if (!strategies.ok) return strategies;
  if (!pairs.ok) return pairs;
  const active = strategies.value.filter(
    (s: StrategySummary) => s.kind === RV_KIND && (s.state === "paper" || s.state === "live"),
  );
  const report: TradingLoopReport = {
    at: new Date(nowMs).toISOString(),
    strategies: active.length,
    pairs: pairs.value.length,
    signals: 0,
    submitted: [],
    denied: [],
    skipped: [...judged.undetermined],
    ...(hedgeRetries.length > 0 ? { hedgeRetries } : {}),
  };
  for (const r of hedgeRetries) if (r.outcome === "placed") report.submitted.push(r.hedgeOrderId);
  const run: LoopRun = { env, actor, clock, hedges, report, minute: Math.floor(nowMs / 60_000) };
  // A pair was reviewed against its legs' terms: if either leg's terms changed since (and ingestion has not
  // proposed the pair again, which would lapse it), the review no longer covers it. Checked once per pair.
  const current = new Map<string, LegCheck>(
    active.length === 0
      ? []
      : await Promise.all(pairs.value.map(async (p) => [p.pairId, await termsChanged(env, p)] as const)),
  );
  for (const s of active) {
    const params = rvParams(s.params ?? {});
    for (const p of pairs.value) {
      const check = current.get(p.pairId);
      if (check?.changed) report.skipped.push(`${p.pairId}: ${check.changed}`);
      else await tradePair(run, s, params, p, check?.kalshiCategory ?? null);
    }
  }
  if (report.signals > 0 || hedges.error || hedgeRetries.length > 0 || judged.undetermined.length > 0) {
    // Orders are audited one by one; the run summary is kept only when something happened.
    await auditAppend(env.AUDIT, {
      type: "execution.loop_run",
      service: "execution",
      actor,
      payload: { ...report, hedgeMapError: hedges.error },
    });
  }
  return ok(report);
}

/** What every pair of one run shares: who acts, the clock, the hedge map, the report it adds to, its minute. */
interface LoopRun {
  env: Env;
  actor: Principal;
  clock: () => number;
  hedges: ReturnType<typeof parseHedgeMap>;
  report: TradingLoopReport;
  minute: number;
}

/**
 * One strategy on one pair: both legs' books, the signal on them and the strategy's position, then (once a
 * minute) the order through risk, and a fill's hedge. Each outcome is added to the run's report.
 */
async function tradePair(
  run: LoopRun,
  s: StrategySummary,
  params: ReturnType<typeof rvParams>,
  p: TradablePair,
  kalshiCategory: string | null,
): Promise<void> {
  const { env, actor, report } = run;
  const [kb, pb] = await readLegs(env, p, "getOrderBook", (ingestion, venue, marketId) =>
    ingestion.getOrderBook(venue, marketId, DECISION_BOOK_MAX_AGE_SECONDS),
  );
  if (!kb.ok || !pb.ok) {
    report.skipped.push(
      `${p.pairId}: no book (${!kb.ok ? kb.error.message : ""}${!pb.ok ? pb.error.message : ""})`,
    );
    return;
  }
  const om = orderManager(env);
  const mode = await om.modeFor(s.id);
  const position = await om.positionIn("kalshi", p.kalshi.marketId, mode, s.id);
  const sig = crossVenueSignal({
    kalshi: kb.value,
    polymarket: pb.value,
    yesMapsTo: p.yesMapsTo,
    allocation: s.allocation,
    position,
    params,
  });
  if (!sig) return;
  report.signals++;
  const coid = await deriveClientOrderId(s.id, `${p.pairId}:${run.minute}`, "kalshi");
  // This (strategy, pair, minute) was decided already: its order stands, whatever the book does now.
  if ((await om.getOrder(coid)).ok) {
    report.skipped.push(`${p.pairId}: already decided this minute (${coid})`);
    return;
  }
  const intent: OrderIntent = {
    strategyId: s.id,
    venue: "kalshi",
    market: p.kalshi.marketId,
    side: sig.side,
    effect: sig.effect,
    quantity: sig.quantity,
    limitPrice: sig.limitPrice,
    clientOrderId: coid,
    evidenceHashes: [...new Set([kb.value.evidenceHash, pb.value.evidenceHash])],
  };
  const res = await decideAndSubmit(env, intent, actor, {
    kind: "signal",
    pairId: p.pairId,
    pairApprovedBy: p.approvedBy,
    pairApprovedAt: p.approvedAt,
    note: `fair ${sig.fairPrice} edge ${sig.edge}`,
  });
  if (!res.ok) {
    report.denied.push({ clientOrderId: coid, reason: `${res.error.code}: ${res.error.message}` });
    return;
  }
  report.submitted.push(coid);
  if (res.value.filled <= 0) return;
  // The fill was recorded with the order: judged now against the map (with the category this run read), its
  // hedge owed from then on (retried by later runs until placed, never at a blind price, alerted on
  // meanwhile), and the first attempt made.
  const categories = new Map([[p.kalshi.marketId, ok(kalshiCategory)]]);
  const atSubmit = await judgeHedgeFills(env, run.hedges, actor, categories, coid);
  report.skipped.push(...atSubmit.undetermined);
  const h = await hedgeFill(env, run.hedges.map, coid, actor, run.clock);
  if (!h) return;
  if (h.placed) {
    if (h.hedgeOrderId) report.submitted.push(h.hedgeOrderId);
  } else report.denied.push({ clientOrderId: h.hedgeOrderId, reason: h.reason ?? "hedge not placed" });
}

/** The same ingestion read of each leg of a pair, in parallel, each bounded: [Kalshi's, Polymarket's]. */
function readLegs<T>(
  env: Env,
  p: TradablePair,
  what: string,
  read: (ingestion: ContractOf<Env["INGESTION"]>, venue: MarketVenue, marketId: string) => Promise<Result<T>>,
): Promise<[Result<T>, Result<T>]> {
  const leg = (venue: MarketVenue, marketId: string) =>
    rpc(env.INGESTION, (ingestion) => read(ingestion, venue, marketId), { what, timeoutMs: READ_TIMEOUT_MS });
  return Promise.all([leg("kalshi", p.kalshi.marketId), leg("polymarket", p.polymarket.marketId)]);
}

/** Why a pair's review no longer covers it (`changed`, null when it still does), and the Kalshi leg's category. */
interface LegCheck {
  changed: string | null;
  kalshiCategory: string | null;
}

async function termsChanged(env: Env, p: TradablePair): Promise<LegCheck> {
  const [k, m] = await readLegs(env, p, "getMarket", (ingestion, venue, marketId) =>
    ingestion.getMarket(venue, marketId),
  );
  if (!k.ok || !m.ok)
    return {
      changed: `legs unreadable, not traded (${!k.ok ? k.error.message : ""}${!m.ok ? m.error.message : ""})`,
      kalshiCategory: null,
    };
  const moved = [
    k.value.termsHash !== p.kalshi.termsHash ? "kalshi" : null,
    m.value.termsHash !== p.polymarket.termsHash ? "polymarket" : null,
  ].filter((x) => x !== null);
  return {
    changed:
      moved.length > 0 ? `terms changed since the pair was reviewed (${moved.join(", ")}): not traded` : null,
    kalshiCategory: k.value.category,
  };
}
