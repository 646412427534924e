import { formatFixed, PRICE_DECIMALS, parseFixed } from "@paulp/kit";
import {
  hash32,
  POLYMARKET_MARKET_COUNT,
  POLYMARKET_SHAPES,
  type PolymarketMarketSeed,
  type PolymarketShape,
  polymarketBook,
  polymarketClosed,
  polymarketMarketWire,
  polymarketUniverse,
} from "@paulp/sim-universe";
import type { GammaKeysetPageWire } from "@paulp/venue-models";
import type { SimContext, SimHandler } from "./context";
import { consumeRateLimit } from "./faults";

/**
 * The most `GET /markets/keyset` serves in one page; a larger `limit` is clamped silently. Polymarket publishes no
 * cap (its SDK sends any `pageSize`); 100 is the cap NautilusTrader's gamma client documents for this endpoint.
 */
export const GAMMA_KEYSET_MAX_LIMIT = 100;
/** The legacy offset endpoint's cap. */
export const GAMMA_LIST_MAX_LIMIT = 500;

/** Which Polymarket shape this simulator serves: the current mode's (`SIM_UNIVERSE`). */
export function polymarketShape(sim: SimContext): PolymarketShape {
  return POLYMARKET_SHAPES[sim.universe];
}

/** Polymarket's error body `{ error }` (CLOB and gamma). */
function polyError(status: number, message: string): Response {
  return Response.json({ error: message }, { status });
}

/**
 * Polymarket: gamma `GET /markets/keyset` (the official SDK's listing: `{ markets, next_cursor? }`, an opaque
 * cursor, `limit` clamped silently), the legacy `GET /markets` (a bare array, offset paged), CLOB `GET /book`,
 * `/price`, `/midpoint`, and data-api `GET /positions`. Markets are served as gamma serves them, quirks included.
 */
export const handlePolymarket: SimHandler = async (request, url, sim) => {
  if (request.method !== "GET") return polyError(405, "method not allowed");
  if (url.hostname === "gamma-api.polymarket.com" && url.pathname === "/markets/keyset") {
    return (await consumeRateLimit(sim, "polymarket-gamma")) ?? gammaKeyset(url, sim);
  }
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

/** The markets the query's filters select, in the endpoint's stable order (the universe's). */
function selected(url: URL, sim: SimContext): PolymarketMarketSeed[] {
  const closed = url.searchParams.get("closed");
  // The SDK repeats array parameters (`condition_ids=a&condition_ids=b`); some clients join them with commas.
  const many = (name: string) =>
    url.searchParams
      .getAll(name)
      .flatMap((c) => c.split(","))
      .filter(Boolean);
  const conditionIds = many("condition_ids");
  const slugs = many("slug");
  let list = polymarketUniverse(sim.seed, polymarketShape(sim)).poly;
  const shape = polymarketShape(sim);
  const now = sim.marketNow();
  if (closed === "false") list = list.filter((m) => !polymarketClosed(m, now, shape));
  if (closed === "true") list = list.filter((m) => polymarketClosed(m, now, shape));
  if (conditionIds.length > 0)
    list = list.filter((m) => !m.quirks.conditionId && conditionIds.includes(m.conditionId));
  if (slugs.length > 0) list = list.filter((m) => slugs.includes(m.slug));
  return list;
}

/** The keyset cursor: opaque to clients (base64url of the next market's id). */
function encodeCursor(id: string): string {
  return btoa(JSON.stringify({ after: id }))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

function decodeCursor(cursor: string): string | null {
  try {
    const json = JSON.parse(atob(cursor.replace(/-/g, "+").replace(/_/g, "/"))) as { after?: unknown };
    return typeof json.after === "string" ? json.after : null;
  } catch {
    return null;
  }
}

function gammaKeyset(url: URL, sim: SimContext): Response {
  // Keyset endpoints take no offset (NautilusTrader's gamma client: "Keyset endpoints reject offset").
  if (url.searchParams.has("offset"))
    return polyError(422, "offset is not supported; page with after_cursor");
  const asked = intParam(url, "limit", 20, Number.MAX_SAFE_INTEGER);
  if (asked === null || asked === 0) return polyError(422, "limit must be a positive integer");
  const limit = Math.min(asked, GAMMA_KEYSET_MAX_LIMIT);
  const list = selected(url, sim);
  let start = 0;
  const cursor = url.searchParams.get("after_cursor");
  if (cursor !== null) {
    const after = decodeCursor(cursor);
    if (after === null) return polyError(422, "invalid after_cursor");
    const next = list.findIndex((m) => Number(m.id) > Number(after));
    start = next < 0 ? list.length : next;
  }
  const shape = polymarketShape(sim);
  const now = sim.marketNow();
  const page = list.slice(start, start + limit);
  const body: GammaKeysetPageWire = {
    markets: page.map((m) => polymarketMarketWire(sim.seed, m, now, shape)),
  };
  // The last page has no next_cursor (the bindings type it optional, never null or empty).
  if (start + limit < list.length) body.next_cursor = encodeCursor(page.at(-1)!.id);
  return Response.json(body);
}

function gammaMarkets(url: URL, sim: SimContext): Response {
  const asked = intParam(url, "limit", 100, Number.MAX_SAFE_INTEGER);
  const offset = intParam(url, "offset", 0, 1_000_000);
  if (asked === null || offset === null) return polyError(400, "invalid limit or offset");
  const limit = Math.min(asked, GAMMA_LIST_MAX_LIMIT);
  const shape = polymarketShape(sim);
  const now = sim.marketNow();
  return Response.json(
    selected(url, sim)
      .slice(offset, offset + limit)
      .map((m) => polymarketMarketWire(sim.seed, m, now, shape)),
  );
}

function clob(url: URL, sim: SimContext): Response {
  const tokenId = url.searchParams.get("token_id");
  if (!tokenId) return polyError(400, "token_id is required");
  const book = polymarketBook(sim.seed, tokenId, sim.marketNow(), polymarketShape(sim));
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
  // In 1e-4 $ exactly (a CLOB price may have a 0.001 tick), the half-tick mid rounded half-up to 3 decimals.
  const units = (price: string) => parseFixed(price, PRICE_DECIMALS, { rounding: "half-up" });
  // (bid + ask) / 2 in 1e-4 $ is (bid + ask) × 5 in 1e-5 $: exact, whatever the parity.
  const mid = formatFixed((units(bestBid) + units(bestAsk)) * 5, PRICE_DECIMALS + 1, 3, "half-up");
  return Response.json({ mid: mid.replace(/0$/, "") });
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
