import type { SimContext, SimHandler } from "./context";
import {
  hash32,
  POLYMARKET_MARKET_COUNT,
  polymarketBook,
  polymarketMarketWire,
  universe,
} from "./data/universe";
import { consumeRateLimit } from "./faults";

/** Polymarket's error body `{ error }` (CLOB and gamma). */
function polyError(status: number, message: string): Response {
  return Response.json({ error: message }, { status });
}

/**
 * Polymarket: gamma `GET /markets` (a bare array, offset paging, `outcomes`/`outcomePrices`/`clobTokenIds` as
 * JSON-encoded strings), CLOB `GET /book`, `/price`, `/midpoint`, and data-api `GET /positions`.
 */
export const handlePolymarket: SimHandler = async (request, url, sim) => {
  if (request.method !== "GET") return polyError(405, "method not allowed");
  if (url.hostname === "gamma-api.polymarket.com" && url.pathname === "/markets") {
    return (await consumeRateLimit(sim, "polymarket-gamma")) ?? gammaMarkets(url, sim);
  }
  if (url.hostname === "clob.polymarket.com" && ["/book", "/price", "/midpoint"].includes(url.pathname)) {
    return (await consumeRateLimit(sim, "polymarket-clob")) ?? clob(url, sim);
  }
  if (url.hostname === "data-api.polymarket.com" && url.pathname === "/positions") {
    return (await consumeRateLimit(sim, "polymarket-data")) ?? positions(url);
  }
  return null;
};

function intParam(url: URL, name: string, fallback: number, max: number): number | null {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 && n <= max ? n : null;
}

function gammaMarkets(url: URL, sim: SimContext): Response {
  const limit = intParam(url, "limit", 100, 500);
  const offset = intParam(url, "offset", 0, 1_000_000);
  if (limit === null || offset === null) return polyError(400, "invalid limit or offset");
  const closed = url.searchParams.get("closed");
  const conditionIds = url.searchParams
    .getAll("condition_ids")
    .flatMap((c) => c.split(","))
    .filter(Boolean);
  const slug = url.searchParams.get("slug");
  const now = sim.now();
  let list = universe(sim.seed).poly;
  if (closed === "false") list = list.filter((m) => !m.closed);
  if (closed === "true") list = list.filter((m) => m.closed);
  if (conditionIds.length > 0) list = list.filter((m) => conditionIds.includes(m.conditionId));
  if (slug) list = list.filter((m) => m.slug === slug);
  return Response.json(list.slice(offset, offset + limit).map((m) => polymarketMarketWire(sim.seed, m, now)));
}

function clob(url: URL, sim: SimContext): Response {
  const tokenId = url.searchParams.get("token_id");
  if (!tokenId) return polyError(400, "token_id is required");
  const book = polymarketBook(sim.seed, tokenId, sim.now()) as {
    bids: { price: string }[];
    asks: { price: string }[];
  } | null;
  if (!book) return polyError(404, "No orderbook exists for the requested token id");
  if (url.pathname === "/book") return Response.json(book);
  const bestBid = book.bids.at(-1)?.price ?? null;
  const bestAsk = book.asks.at(-1)?.price ?? null;
  if (url.pathname === "/price") {
    const side = url.searchParams.get("side");
    if (side !== "BUY" && side !== "SELL") return polyError(400, "side must be BUY or SELL");
    // BUY answers what a buyer pays (the best ask); SELL what a seller receives (the best bid).
    const price = side === "BUY" ? bestAsk : bestBid;
    return price ? Response.json({ price }) : polyError(404, "no price");
  }
  if (!bestBid || !bestAsk) return polyError(404, "no midpoint");
  const midCents = (Math.round(Number(bestBid) * 100) + Math.round(Number(bestAsk) * 100)) / 2;
  return Response.json({ mid: (midCents / 100).toFixed(3).replace(/0$/, "") });
}

function positions(url: URL): Response {
  const user = url.searchParams.get("user");
  if (!user || !/^0x[0-9a-fA-F]{40}$/.test(user)) return polyError(400, "user must be a 0x address");
  // The simulated wallets hold nothing unless a trading simulator adds positions; a deterministic small set.
  const n = hash32(user.toLowerCase()) % 3;
  return Response.json(
    Array.from({ length: n }, (_, k) => ({
      proxyWallet: user,
      asset: String(1000 + k),
      conditionId: `0x${"0".repeat(63)}${k}`,
      size: "10",
      avgPrice: "0.5",
      initialValue: "5",
      currentValue: "5",
      cashPnl: "0",
      realizedPnl: "0",
      curPrice: "0.5",
      redeemable: false,
      outcome: "Yes",
      outcomeIndex: 0,
      endDate: "2027-12-31",
      negativeRisk: false,
    })),
  );
}

export { POLYMARKET_MARKET_COUNT };
