import { kalshiEndpoint } from "@paulp/kalshi-spec";
import {
  kalshiBook,
  kalshiCounts,
  kalshiEvent,
  kalshiEventsPage,
  kalshiMarketIndex,
  kalshiMarketIsMve,
  kalshiMarketSeriesTicker,
  kalshiMarketStatus,
  kalshiMarketWire,
  kalshiSeriesByTicker,
  kalshiSeriesList,
} from "@paulp/sim-universe";
import type * as K from "kalshi-typescript";
import type { SimContext, SimHandler } from "../context";
import { consumeRateLimit } from "../faults";
import { kalshiAuth } from "./auth";

const PREFIX = "/trade-api/v2";

/** Kalshi's error body `{ code, message }` (docs.kalshi.com api-reference). */
function kalshiError(status: number, code: string, message: string): Response {
  return Response.json({ code, message, service: "exchange" }, { status });
}

/** `GetMarketsStatusEnum` → the `Market.status` values it selects (the simulator's reading; see docs/venues.md). */
const STATUS_FILTER: Record<string, K.Market["status"]> = {
  unopened: "initialized",
  open: "active",
  paused: "inactive",
  closed: "closed",
  settled: "finalized",
};

/**
 * Kalshi market data as kalshi-typescript 3.30.0 documents it (`api/market-api.ts`, `api/events-api.ts`,
 * `api/exchange-api.ts`): `GET /markets` (cursor paging, 1 ≤ limit ≤ 1000, the documented filters),
 * `/markets/{ticker}`, `/markets/{ticker}/orderbook` (authenticated), `/series` (the whole list, no paging),
 * `/series/{series_ticker}`, `/events` (cursor paging, limit ≤ 200), `/events/{event_ticker}`,
 * `/exchange/status`. Every body is built as the SDK's model type (see packages/sim-universe).
 */
export const handleKalshiMarkets: SimHandler = async (request, url, sim) => {
  if (!url.pathname.startsWith(PREFIX) || url.pathname.startsWith(`${PREFIX}/portfolio/`)) return null;
  const endpoint = kalshiEndpoint(request.method, url.pathname);
  if (!endpoint) return kalshiError(404, "not_found", "route not found");
  const auth = await kalshiAuth(request, url, sim);
  if ("refused" in auth) return auth.refused;
  const limited = await consumeRateLimit(sim, "kalshi");
  if (limited) return limited;
  for (const [name, value] of url.searchParams) {
    const check = endpoint.query[name];
    const why = check ? check(value) : "is not a parameter of this endpoint";
    if (why) return kalshiError(400, "invalid_parameters", `${name}: ${why}`);
  }
  const path = url.pathname.slice(PREFIX.length);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const now = sim.marketNow();
  switch (endpoint.operation) {
    case "getExchangeStatus":
      return Response.json({ exchange_active: true, trading_active: true } satisfies K.ExchangeStatus);
    case "getMarkets":
      return listMarkets(url, sim);
    case "getMarket": {
      const i = kalshiMarketIndex(sim.seed, sim.universe, parts[1]!);
      return i === null
        ? kalshiError(404, "not_found", `market ${parts[1]} not found`)
        : Response.json({
            market: kalshiMarketWire(sim.seed, sim.universe, i, now),
          } satisfies K.GetMarketResponse);
    }
    case "getMarketOrderbook": {
      const book = kalshiBook(sim.seed, sim.universe, parts[1]!, now);
      if (!book) return kalshiError(404, "not_found", `market ${parts[1]} not found`);
      // "0 or negative means all levels, 1-100 for specific depth"; levels are ascending, the best last.
      const depth = Number(url.searchParams.get("depth") ?? "0");
      const cut = (levels: string[][]) => (depth > 0 ? levels.slice(-depth) : levels);
      return Response.json({
        orderbook_fp: { yes_dollars: cut(book.yes_dollars), no_dollars: cut(book.no_dollars) },
      } satisfies K.GetMarketOrderbookResponse);
    }
    case "getSeriesList": {
      const min = url.searchParams.get("min_updated_ts");
      const category = url.searchParams.get("category");
      let series = kalshiSeriesList(sim.universe, min === null ? undefined : Number(min) * 1000);
      if (category !== null) series = series.filter((s) => s.categories.includes(category));
      return Response.json({ series } satisfies K.GetSeriesListResponse);
    }
    case "getSeries": {
      const series = kalshiSeriesByTicker(sim.universe, parts[1]!);
      return series
        ? Response.json({ series } satisfies K.GetSeriesResponse)
        : kalshiError(404, "not_found", `series ${parts[1]} not found`);
    }
    case "getEvents":
      return listEvents(url, sim);
    case "getEvent": {
      const nested = url.searchParams.get("with_nested_markets") === "true";
      const ev = kalshiEvent(sim.seed, sim.universe, parts[1]!, nested, now);
      return ev
        ? Response.json(ev satisfies K.GetEventResponse)
        : kalshiError(404, "not_found", `event ${parts[1]} not found`);
    }
    default:
      return kalshiError(404, "not_found", "route not found");
  }
};

/** The cursor is opaque to clients; here it is the base64 of the next index. */
function readCursor(url: URL): number | Response {
  const cursor = url.searchParams.get("cursor") ?? "";
  if (!cursor) return 0;
  let decoded = Number.NaN;
  try {
    decoded = Number(atob(cursor));
  } catch {}
  return Number.isInteger(decoded) && decoded >= 0
    ? decoded
    : kalshiError(400, "invalid_parameters", "invalid cursor");
}

function listMarkets(url: URL, sim: SimContext): Response {
  const limit = Number(url.searchParams.get("limit") ?? "100");
  const start = readCursor(url);
  if (start instanceof Response) return start;
  const status = url.searchParams.get("status");
  const series = url.searchParams.get("series_ticker");
  const event = url.searchParams.get("event_ticker");
  const mve = url.searchParams.get("mve_filter");
  const tickers = url.searchParams.get("tickers")?.split(",").filter(Boolean);
  const minUpdated = url.searchParams.get("min_updated_ts");
  // "Incompatible with any other filters except mve_filter=exclude" (getMarkets, minUpdatedTs).
  if (minUpdated !== null) {
    const others = [...url.searchParams.keys()].filter(
      (k) => !["min_updated_ts", "mve_filter", "limit", "cursor"].includes(k),
    );
    if (others.length > 0 || (mve !== null && mve !== "exclude"))
      return kalshiError(400, "invalid_parameters", "min_updated_ts is incompatible with other filters");
  }
  const updatedAfterMs = minUpdated === null ? null : Number(minUpdated) * 1000;
  const wanted = status === null ? null : STATUS_FILTER[status]!;
  const total = kalshiCounts(sim.universe).markets;
  const { seed, universe: mode } = sim;
  const now = sim.marketNow();
  const markets: K.Market[] = [];
  let i = start;
  for (; i < total && markets.length < limit; i++) {
    if (wanted && kalshiMarketStatus(seed, mode, i, now) !== wanted) continue;
    if (mve !== null && kalshiMarketIsMve(seed, mode, i) !== (mve === "only")) continue;
    if (series && kalshiMarketSeriesTicker(seed, mode, i) !== series) continue;
    const m = kalshiMarketWire(seed, mode, i, now);
    if (event && m.event_ticker !== event) continue;
    if (tickers && !tickers.includes(m.ticker)) continue;
    if (updatedAfterMs !== null && !(Date.parse(m.updated_time) > updatedAfterMs)) continue;
    markets.push(m);
  }
  return Response.json({ markets, cursor: i < total ? btoa(String(i)) : "" } satisfies K.GetMarketsResponse);
}

function listEvents(url: URL, sim: SimContext): Response {
  const limit = Number(url.searchParams.get("limit") ?? "200");
  const start = readCursor(url);
  if (start instanceof Response) return start;
  const status = url.searchParams.get("status");
  const page = kalshiEventsPage(sim.seed, sim.universe, {
    start,
    limit,
    tickers: url.searchParams.get("tickers")?.split(",").filter(Boolean),
    series: url.searchParams.get("series_ticker") ?? undefined,
    status: status === null ? undefined : STATUS_FILTER[status],
    nested: url.searchParams.get("with_nested_markets") === "true",
    now: sim.marketNow(),
  });
  return Response.json({
    events: page.events,
    cursor: page.next === null ? "" : btoa(String(page.next)),
  } satisfies K.GetEventsResponse);
}
