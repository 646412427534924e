import {
  type ExecutionPosition,
  type HedgeObligationView,
  ok,
  type Result,
  type TradablePair,
  type TradedMarket,
} from "@paulp/contracts";
import { rpc } from "@paulp/kit";
import type { Env } from "./env";
import { type HedgeMap, parseHedgeMap } from "./hedge";
import { orderManager, RV_KIND } from "./loop";

/**
 * The traded set now: strategies and pairs from governance, positions and owed hedges from the order manager, the
 * hedge map.
 */
export async function loadTradedMarkets(env: Env): Promise<Result<TradedMarket[]>> {
  const what = "tradedMarkets";
  const [strategies, pairs, positions, owed] = await Promise.all([
    rpc(env.GOVERNANCE, (governance) => governance.activeStrategies(), { what }),
    rpc(env.GOVERNANCE, (governance) => governance.tradablePairs(), { what }),
    rpc(() => orderManager(env).getPositions() as Promise<Result<{ positions: ExecutionPosition[] }>>, {
      what,
    }),
    rpc(
      () =>
        orderManager(env).listHedgeObligations({ state: "open", limit: 500 }) as Promise<
          Result<{ obligations: HedgeObligationView[] }>
        >,
      { what },
    ),
  ]);
  if (!strategies.ok) return strategies;
  if (!pairs.ok) return pairs;
  if (!positions.ok) return positions;
  if (!owed.ok) return owed;
  const trading = strategies.value.some(
    (s) => s.kind === RV_KIND && (s.state === "paper" || s.state === "live"),
  );
  const hedges = parseHedgeMap(env.HEDGE_MAP).map;
  return ok(
    tradedMarkets({
      trading,
      pairs: pairs.value,
      positions: positions.value.positions,
      hedges,
      owedConids: owed.value.obligations.map((o) => o.conid),
    }),
  );
}

/**
 * The markets a live or paper strategy can trade, for ingestion's fast path. Pure.
 * - While any strategy trades: both legs of every tradable pair, and every IBKR instrument of the hedge map
 *   (any signal fill may be hedged with one).
 * - Always: every market holding an open position (risk values it, and a reduce or close may come at any time),
 *   and every IBKR instrument an open hedge obligation owes a hedge in (the loop's retry needs its fresh mark,
 *   whether or not a strategy still trades).
 * An IBKR instrument is filed under the hedge entry's `category`, else the category its `category:<name>` key
 * names; null when neither says, or when entries of one conid disagree (risk then refuses `NO_CATEGORY`).
 */
export function tradedMarkets(input: {
  trading: boolean;
  pairs: readonly TradablePair[];
  positions: readonly ExecutionPosition[];
  hedges: HedgeMap;
  /** The conids of the open hedge obligations. */
  owedConids?: readonly string[];
}): TradedMarket[] {
  const ibkrCategory = hedgeCategories(input.hedges);
  const out = new Map<string, TradedMarket>();
  const add = (m: TradedMarket) => {
    const key = `${m.venue}:${m.market}`;
    if (!out.has(key)) out.set(key, m);
  };
  for (const p of input.positions) {
    if (p.position === 0) continue;
    const category = p.venue === "ibkr" ? (ibkrCategory.get(p.market) ?? null) : null;
    add({ venue: p.venue, market: p.market, why: "position", category });
  }
  for (const conid of input.owedConids ?? [])
    add({ venue: "ibkr", market: conid, why: "hedge", category: ibkrCategory.get(conid) ?? null });
  if (input.trading) {
    for (const p of input.pairs) {
      add({ venue: "kalshi", market: p.kalshi.marketId, why: "pair_leg", category: null });
      add({ venue: "polymarket", market: p.polymarket.marketId, why: "pair_leg", category: null });
    }
    for (const [conid, category] of ibkrCategory)
      add({ venue: "ibkr", market: conid, why: "hedge", category });
  }
  return [...out.values()];
}

/** Each hedge conid with the category its entries give it (null when none says or they disagree). */
function hedgeCategories(map: HedgeMap): Map<string, string | null> {
  const seen = new Map<string, Set<string | null>>();
  for (const [key, entry] of Object.entries(map)) {
    const category = entry.category ?? (key.startsWith("category:") ? key.slice("category:".length) : null);
    const conid = String(entry.conid);
    const set = seen.get(conid) ?? new Set();
    set.add(category || null);
    seen.set(conid, set);
  }
  return new Map(
    [...seen].map(([conid, cats]) => [conid, cats.size === 1 ? ([...cats][0] ?? null) : null] as const),
  );
}
