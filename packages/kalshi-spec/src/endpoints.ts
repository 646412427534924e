/**
 * The Kalshi endpoints Paul P calls or simulates, as kalshi-typescript 3.30.0 documents them (`api/*.ts`,
 * `docs/*Api.md`): method, path, whether the spec marks the operation authenticated (the three
 * `KALSHI-ACCESS-*` headers), and each documented query parameter with the bounds its description states.
 * `test/sdk.test.ts` checks this table against the SDK's own docs (operation, method, path, authorization,
 * parameter names), so the simulator's auth rules and the request checks below cannot drift from the spec.
 */
import * as v from "valibot";
import * as M from "./models";

/** A query parameter's check: answers null when the value is acceptable, else why not. */
type ParamCheck = (value: string) => string | null;

const intIn =
  (min: number, max: number): ParamCheck =>
  (s) =>
    /^-?\d+$/.test(s) && Number(s) >= min && Number(s) <= max
      ? null
      : `must be an integer in [${min}, ${max}]`;
const oneOf =
  (...values: string[]): ParamCheck =>
  (s) =>
    values.includes(s) ? null : `must be one of ${values.join(", ")}`;
const any: ParamCheck = () => null;
const bool: ParamCheck = oneOf("true", "false");
const unixSeconds: ParamCheck = (s) => (/^\d{1,11}$/.test(s) ? null : "must be a Unix timestamp in seconds");
const positiveInt: ParamCheck = (s) =>
  /^\d+$/.test(s) && Number(s) >= 1 ? null : "must be a positive integer";

/** One documented operation. */
export interface KalshiEndpoint {
  /** The SDK's operation id (`getMarkets`, …), as in `docs/*Api.md`. */
  operation: string;
  method: "GET" | "POST" | "DELETE";
  /** The documented path template under `/trade-api/v2`. */
  path: string;
  /** The spec lists kalshiAccessKey/Signature/Timestamp for it. */
  auth: boolean;
  /** Documented query parameters (none undocumented may be sent). */
  query: Record<string, ParamCheck>;
  /** The request body model, for writes. */
  body?: v.GenericSchema;
  /** The 2xx response model. */
  response: v.GenericSchema;
}

/** The base path every Kalshi Trade API v2 URL starts with (the signed path includes it). */
export const KALSHI_API_PREFIX = "/trade-api/v2";

export const KALSHI_ENDPOINTS: readonly KalshiEndpoint[] = [
  {
    operation: "getMarkets",
    method: "GET",
    path: "/markets",
    auth: false,
    // "Number of results per page. Defaults to 100. Maximum value is 1000." (MarketApi.md getMarkets)
    query: {
      limit: intIn(1, 1000),
      cursor: any,
      event_ticker: any,
      series_ticker: any,
      min_created_ts: unixSeconds,
      max_created_ts: unixSeconds,
      min_updated_ts: unixSeconds,
      max_close_ts: unixSeconds,
      min_close_ts: unixSeconds,
      min_settled_ts: unixSeconds,
      max_settled_ts: unixSeconds,
      // GetMarketsStatusEnum: unopened | open | paused | closed | settled (not the Market.status values; the
      // operation's description names four, the enum five).
      status: oneOf("unopened", "open", "paused", "closed", "settled"),
      tickers: any,
      // GetMarketsMveFilterEnum
      mve_filter: oneOf("only", "exclude"),
    },
    response: M.GetMarketsResponse,
  },
  {
    operation: "getMarket",
    method: "GET",
    path: "/markets/{ticker}",
    auth: false,
    query: {},
    response: M.GetMarketResponse,
  },
  {
    operation: "getMarketOrderbook",
    method: "GET",
    path: "/markets/{ticker}/orderbook",
    auth: true,
    // "Depth of the orderbook to retrieve (0 or negative means all levels, 1-100 for specific depth)"
    query: { depth: intIn(-1_000_000, 100) },
    response: M.GetMarketOrderbookResponse,
  },
  {
    operation: "getSeriesList",
    method: "GET",
    path: "/series",
    auth: false,
    query: {
      category: any,
      tags: any,
      include_product_metadata: bool,
      include_volume: bool,
      min_updated_ts: unixSeconds,
    },
    response: M.GetSeriesListResponse,
  },
  {
    operation: "getSeries",
    method: "GET",
    path: "/series/{series_ticker}",
    auth: false,
    query: { include_volume: bool },
    response: M.GetSeriesResponse,
  },
  {
    operation: "getEvents",
    method: "GET",
    path: "/events",
    auth: false,
    // "Defaults to 200. Maximum value is 200." (EventsApi.md getEvents)
    query: {
      limit: intIn(1, 200),
      cursor: any,
      with_nested_markets: bool,
      with_milestones: bool,
      status: oneOf("unopened", "open", "closed", "settled"),
      series_ticker: any,
      tickers: any,
      min_close_ts: unixSeconds,
      min_updated_ts: unixSeconds,
    },
    response: M.GetEventsResponse,
  },
  {
    operation: "getEvent",
    method: "GET",
    path: "/events/{event_ticker}",
    auth: false,
    query: { with_nested_markets: bool },
    response: M.GetEventResponse,
  },
  {
    operation: "getExchangeStatus",
    method: "GET",
    path: "/exchange/status",
    auth: false,
    query: {},
    response: M.ExchangeStatus,
  },
  {
    operation: "createOrderV2",
    method: "POST",
    path: "/portfolio/events/orders",
    auth: true,
    query: {},
    body: M.CreateOrderV2Request,
    response: M.CreateOrderV2Response,
  },
  {
    operation: "cancelOrderV2",
    method: "DELETE",
    path: "/portfolio/events/orders/{order_id}",
    auth: true,
    query: { subaccount: any, exchange_index: any, market_ticker: any },
    response: M.CancelOrderV2Response,
  },
  {
    operation: "getOrder",
    method: "GET",
    path: "/portfolio/orders/{order_id}",
    auth: true,
    query: {},
    response: M.GetOrderResponse,
  },
  {
    operation: "getOrders",
    method: "GET",
    path: "/portfolio/orders",
    auth: true,
    // "Number of results per page. Defaults to 100." (no maximum documented)
    query: {
      ticker: any,
      event_ticker: any,
      min_ts: unixSeconds,
      max_ts: unixSeconds,
      status: oneOf("resting", "canceled", "executed"),
      limit: positiveInt,
      cursor: any,
      subaccount: any,
      exchange_index: any,
    },
    response: M.GetOrdersResponse,
  },
  {
    operation: "getFills",
    method: "GET",
    path: "/portfolio/fills",
    auth: true,
    query: {
      ticker: any,
      order_id: any,
      min_ts: unixSeconds,
      max_ts: unixSeconds,
      limit: positiveInt,
      cursor: any,
      subaccount: any,
      exchange_index: any,
    },
    response: M.GetFillsResponse,
  },
  {
    operation: "getPositions",
    method: "GET",
    path: "/portfolio/positions",
    auth: true,
    query: {
      cursor: any,
      limit: positiveInt,
      count_filter: (s) =>
        s.split(",").every((x) => x === "position" || x === "total_traded")
          ? null
          : "position | total_traded",
      ticker: any,
      event_ticker: any,
      subaccount: any,
      exchange_index: any,
    },
    response: M.GetPositionsResponse,
  },
  {
    operation: "getBalance",
    method: "GET",
    path: "/portfolio/balance",
    auth: true,
    query: { subaccount: any, exchange_index: any },
    response: M.GetBalanceResponse,
  },
];

function templateRegex(path: string): RegExp {
  return new RegExp(`^${path.replace(/\{[a-z_]+\}/g, "[^/]+")}$`);
}
const compiled = KALSHI_ENDPOINTS.map((e) => ({ e, re: templateRegex(e.path) }));

/** The documented operation a method and path (with or without `/trade-api/v2`) name, or null. */
export function kalshiEndpoint(method: string, pathname: string): KalshiEndpoint | null {
  const path = pathname.startsWith(KALSHI_API_PREFIX) ? pathname.slice(KALSHI_API_PREFIX.length) : pathname;
  const m = method.toUpperCase();
  return compiled.find(({ e, re }) => e.method === m && re.test(path))?.e ?? null;
}

/** A request as a client sent it. */
export interface SentRequest {
  method: string;
  url: string;
  headers: Headers;
  body: string | null;
}

/** An SPKI PEM public key, imported to verify Kalshi signatures (tests hold the public half of their keys). */
export function kalshiPublicKey(spkiPem: string): Promise<CryptoKey> {
  const b64 = spkiPem.replace(/-----[A-Z ]+-----|\s/g, "");
  return crypto.subtle.importKey(
    "spki",
    Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)),
    { name: "RSA-PSS", hash: "SHA-256" },
    false,
    ["verify"],
  );
}

/** The RSA-PSS check the spec's signer (`auth.ts`) implies: `timestamp + METHOD + path`, salt = digest length. */
export async function verifyKalshiSignature(req: SentRequest, publicKey: CryptoKey): Promise<boolean> {
  const ts = req.headers.get("KALSHI-ACCESS-TIMESTAMP");
  const sig = req.headers.get("KALSHI-ACCESS-SIGNATURE");
  if (!ts || !sig) return false;
  const message = new TextEncoder().encode(`${ts}${req.method.toUpperCase()}${new URL(req.url).pathname}`);
  try {
    const signature = Uint8Array.from(atob(sig), (c) => c.charCodeAt(0));
    return await crypto.subtle.verify({ name: "RSA-PSS", saltLength: 32 }, publicKey, signature, message);
  } catch {
    return false;
  }
}

/**
 * Everything wrong with a request against the spec: an undocumented operation, an undocumented or
 * out-of-range query parameter, a body that is not the request model, missing or malformed auth headers on an
 * authenticated operation, or (given the key) a signature that does not verify. Empty when it conforms.
 */
export async function kalshiRequestProblems(
  req: SentRequest,
  opts: { publicKey?: CryptoKey; nowMs?: number } = {},
): Promise<string[]> {
  const url = new URL(req.url);
  const problems: string[] = [];
  if (!url.pathname.startsWith(KALSHI_API_PREFIX))
    problems.push(`path ${url.pathname} is not under ${KALSHI_API_PREFIX}`);
  const e = kalshiEndpoint(req.method, url.pathname);
  if (!e) return [...problems, `${req.method} ${url.pathname} is not a documented operation`];
  for (const [name, value] of url.searchParams) {
    const check = e.query[name];
    if (!check) problems.push(`${e.operation}: query parameter ${name} is not documented`);
    else {
      const why = check(value);
      if (why) problems.push(`${e.operation}: ${name}=${value} ${why}`);
    }
  }
  if (e.body) {
    let json: unknown;
    try {
      json = JSON.parse(req.body ?? "");
    } catch {
      problems.push(`${e.operation}: body is not JSON`);
    }
    if (json !== undefined) {
      const parsed = v.safeParse(e.body, json);
      if (!parsed.success)
        for (const i of parsed.issues)
          problems.push(`${e.operation}: body ${v.getDotPath(i) ?? "(root)"}: ${i.message}`);
    }
    if (req.headers.get("content-type")?.split(";")[0] !== "application/json")
      problems.push(`${e.operation}: content-type must be application/json`);
  } else if (req.body) problems.push(`${e.operation}: takes no body`);
  if (e.auth) {
    const key = req.headers.get("KALSHI-ACCESS-KEY");
    const ts = req.headers.get("KALSHI-ACCESS-TIMESTAMP");
    if (!key) problems.push(`${e.operation}: KALSHI-ACCESS-KEY missing`);
    if (!ts || !/^\d{13}$/.test(ts)) problems.push(`${e.operation}: KALSHI-ACCESS-TIMESTAMP must be Unix ms`);
    else if (opts.nowMs !== undefined && Math.abs(opts.nowMs - Number(ts)) > 5_000)
      problems.push(`${e.operation}: KALSHI-ACCESS-TIMESTAMP is stale`);
    if (!req.headers.get("KALSHI-ACCESS-SIGNATURE"))
      problems.push(`${e.operation}: KALSHI-ACCESS-SIGNATURE missing`);
    else if (opts.publicKey && !(await verifyKalshiSignature(req, opts.publicKey)))
      problems.push(`${e.operation}: signature does not verify`);
  }
  return problems;
}
