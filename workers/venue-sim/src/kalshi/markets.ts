import type { SimContext, SimHandler } from "../context";
import {
  KALSHI_MARKET_COUNT,
  kalshiBook,
  kalshiMarketByTicker,
  kalshiMarketWire,
  universe,
} from "../data/universe";
import { consumeRateLimit } from "../faults";

const PREFIX = "/trade-api/v2";

/** Kalshi's error body `{ code, message }` (docs.kalshi.com api-reference). */
function kalshiError(status: number, code: string, message: string): Response {
  return Response.json({ code, message, service: "exchange" }, { status });
}

/**
 * Kalshi market data: `GET /markets` (cursor paging, limit ≤ 1000, filters status/event_ticker/series_ticker/
 * tickers), `/markets/{ticker}`, `/markets/{ticker}/orderbook?depth=`, `/exchange/status`. Public: no auth.
 */
export const handleKalshiMarkets: SimHandler = async (request, url, sim) => {
  if (!url.pathname.startsWith(PREFIX)) return null;
  const path = url.pathname.slice(PREFIX.length);
  const isMarketRoute = path === "/markets" || path.startsWith("/markets/") || path === "/exchange/status";
  if (!isMarketRoute) return null;
  if (request.method !== "GET") return kalshiError(405, "method_not_allowed", "method not allowed");
  const limited = await consumeRateLimit(sim, "kalshi");
  if (limited) return limited;
  if (path === "/exchange/status") return Response.json({ exchange_active: true, trading_active: true });
  if (path === "/markets") return listMarkets(url, sim);
  const parts = path.split("/").filter(Boolean); // ["markets", ticker, "orderbook"?]
  const ticker = decodeURIComponent(parts[1] ?? "");
  if (parts.length === 2) {
    const market = kalshiMarketByTicker(sim.seed, ticker, sim.now());
    return market ? Response.json({ market }) : kalshiError(404, "not_found", `market ${ticker} not found`);
  }
  if (parts.length === 3 && parts[2] === "orderbook") {
    const book = kalshiBook(sim.seed, ticker, sim.now());
    if (!book) return kalshiError(404, "not_found", `market ${ticker} not found`);
    const depth = Number(url.searchParams.get("depth") ?? "0");
    const cut = <T>(levels: T[]) => (Number.isInteger(depth) && depth > 0 ? levels.slice(-depth) : levels);
    return Response.json({
      orderbook_fp: { yes_dollars: cut(book.yes_dollars), no_dollars: cut(book.no_dollars) },
    });
  }
  return kalshiError(404, "not_found", "route not found");
};

function listMarkets(url: URL, sim: SimContext): Response {
  const limitRaw = url.searchParams.get("limit");
  const limit = limitRaw === null ? 100 : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    return kalshiError(400, "invalid_parameters", "limit must be an integer between 1 and 1000");
  }
  // The cursor is opaque to clients; here it is the base64 of the next index.
  const cursor = url.searchParams.get("cursor") ?? "";
  let start = 0;
  if (cursor) {
    const decoded = Number(safeAtob(cursor));
    if (!Number.isInteger(decoded) || decoded < 0)
      return kalshiError(400, "invalid_parameters", "invalid cursor");
    start = decoded;
  }
  const status = url.searchParams.get("status");
  const series = url.searchParams.get("series_ticker");
  const event = url.searchParams.get("event_ticker");
  const tickers = url.searchParams.get("tickers")?.split(",").filter(Boolean);
  const statusMatch = (s: string) => !status || (status === "open" ? s === "active" : s === status);
  const all = universe(sim.seed).kalshi;
  const now = sim.now();
  const markets: Record<string, unknown>[] = [];
  let i = start;
  for (; i < KALSHI_MARKET_COUNT && markets.length < limit; i++) {
    const m = all[i]!;
    if (!statusMatch(m.status)) continue;
    if (series && m.series_ticker !== series) continue;
    if (event && m.event_ticker !== event) continue;
    if (tickers && !tickers.includes(m.ticker)) continue;
    markets.push(kalshiMarketWire(sim.seed, m, now));
  }
  return Response.json({ markets, cursor: i < KALSHI_MARKET_COUNT ? btoa(String(i)) : "" });
}

function safeAtob(s: string): string {
  try {
    return atob(s);
  } catch {
    return "x";
  }
}
