import {
  createKalshiSigner,
  type EgressFetch,
  formatFixed,
  formatPrice,
  formatQuantity,
  MICRO_DECIMALS,
  mulDiv,
  orNull,
  PRICE_DECIMALS,
  parseFixed,
  parseQuantity,
  parseVenueDollars,
  quantityNumber,
  rescale,
  venueDollars,
} from "@paulp/kit";
import * as v from "valibot";
import type { VenueRequest, VenueResult } from "./result";
import { classifyStatus, classifyThrown, errorMessage, verr, vok } from "./result";

/**
 * Kalshi Trade API v2 client, held to kalshi-typescript 3.30.0 (Kalshi's generated OpenAPI client): paths and
 * parameters from `api/orders-api.ts` and `api/portfolio-api.ts`, bodies from `models/*.ts`, the signature
 * from `auth.ts` (shared with ingestion through @paulp/kit). Prices are fixed-point dollar strings ("0.5600"),
 * counts fixed-point strings ("10.00") with a 0.01 granularity: counts are parsed exactly, never truncated.
 */
export const KALSHI_BASE = "https://api.elections.kalshi.com/trade-api/v2";
/** Pages followed by a listing before it gives up. */
const MAX_PAGES = 20;
/** `limit` of the portfolio lists: the documented default (no maximum is documented for them). */
export const PORTFOLIO_PAGE = 100;

/** A fixed-point count: the spec emits 2 decimals; older answers and tests may give a number. */
const Count = v.union([v.pipe(v.string(), v.regex(/^-?\d+(\.\d{1,2})?$/)), v.number()]);
const Dollars = v.pipe(v.string(), v.regex(/^\d{1,9}(\.\d{1,6})?$/));
/** `CreateOrderV2Response` (models/create-order-v2-response.ts): the fields we read. */
const OrderAck = v.object({
  order_id: v.string(),
  fill_count: Count,
  remaining_count: Count,
  average_fill_price: v.optional(Dollars),
  average_fee_paid: v.optional(Dollars),
});
/** `Order` (models/order.ts): the fields we read, all required by the spec. */
const Order = v.object({
  order_id: v.string(),
  client_order_id: v.string(),
  ticker: v.string(),
  book_side: v.picklist(["bid", "ask"]),
  // models/order-status.ts lists only these three.
  status: v.picklist(["resting", "canceled", "executed"]),
  yes_price_dollars: Dollars,
  fill_count_fp: Count,
  remaining_count_fp: Count,
  taker_fill_cost_dollars: Dollars,
  maker_fill_cost_dollars: Dollars,
  taker_fees_dollars: Dollars,
  maker_fees_dollars: Dollars,
});
/** An empty cursor means the last page (`GetOrdersResponse.cursor` is required; positions' is optional). */
const Cursor = v.optional(v.string(), "");
const OrderList = v.object({ orders: v.array(Order), cursor: Cursor });
const Positions = v.object({
  market_positions: v.array(v.object({ ticker: v.string(), position_fp: Count })),
  cursor: Cursor,
});
const Fill = v.object({
  fill_id: v.string(),
  order_id: v.string(),
  ticker: v.string(),
  count_fp: Count,
  yes_price_dollars: Dollars,
  fee_cost: Dollars,
});
const Fills = v.object({ fills: v.array(Fill), cursor: Cursor });

/** A Kalshi order as the order manager needs it. */
export interface KalshiOrderView {
  orderId: string;
  clientOrderId: string;
  ticker: string;
  status: "resting" | "canceled" | "executed";
  /** Contracts, exact to 0.01. */
  filled: number;
  remaining: number;
  /** The YES price the fills averaged, from the fill cost fields; null when they do not give one. */
  avgPrice: string | null;
  /** Taker plus maker fees so far, the order's total. */
  fee: string | null;
}

/** What a create-order call answered. */
export interface KalshiAck {
  orderId: string;
  filled: number;
  remaining: number;
  avgPrice: string | null;
  fee: string | null;
}

/** A new order in our terms. */
export interface KalshiNewOrder {
  ticker: string;
  clientOrderId: string;
  side: "buy" | "sell";
  count: number;
  price: string;
  timeInForce: "immediate_or_cancel" | "fill_or_kill" | "good_till_canceled";
}

/** A fixed-point count ("2.50", or a number) in hundredths of a contract, exactly; null when it is not one. */
export function countHundredths(x: string | number): number | null {
  return orNull(() => parseQuantity(x));
}

/** A fixed-point count as contracts, exact to 0.01 ("2.50" → 2.5): never truncated to whole contracts. */
export function countOf(x: string | number): number {
  return quantityNumber(parseQuantity(x));
}

/** Contracts as the spec's request count: 2 decimals ("10.00", "2.50"). */
export function fixedCount(n: number): string {
  return formatQuantity(parseQuantity(n));
}

/** A dollar string normalised to Kalshi's 4-decimal fixed point. */
export function fixedPrice(price: string): string {
  return formatPrice(parseFixed(price, PRICE_DECIMALS, { rounding: "trunc" }));
}

/**
 * The YES price an order's fills averaged, from `taker_fill_cost_dollars + maker_fill_cost_dollars` over
 * `fill_count_fp` (models/order.ts), to 4 decimals half up. A bid buys YES, so its cost is YES dollars; an ask
 * sells YES, i.e. buys NO (`outcome_side: no`), so its cost is NO dollars and the YES price is 1 − cost per
 * contract. An average the limit forbids (a bid above it, an ask below it) means the cost fields do not say
 * what we read them to say: null, and the caller counts the fills at the limit instead.
 */
export function averageFromFillCost(o: {
  book_side: "bid" | "ask";
  yes_price_dollars: string;
  fill_count_fp: string | number;
  taker_fill_cost_dollars: string;
  maker_fill_cost_dollars: string;
}): string | null {
  const filled = countHundredths(o.fill_count_fp);
  const taker = parseVenueDollars(o.taker_fill_cost_dollars);
  const maker = parseVenueDollars(o.maker_fill_cost_dollars);
  const limit = parseVenueDollars(o.yes_price_dollars);
  if (!filled || filled <= 0 || taker === null || maker === null || limit === null) return null;
  // The YES price per contract in micros is `yes / filled` (cost × 100 / hundredths), kept as a fraction so the
  // checks and the rounding are exact.
  const cost = (taker + maker) * 100;
  const yes = o.book_side === "bid" ? cost : 1_000_000 * filled - cost;
  if (yes <= 0 || yes > 1_000_000 * filled) return null;
  if (o.book_side === "bid" ? yes > (limit + 50) * filled : yes < (limit - 50) * filled) return null;
  return formatPrice(mulDiv(yes, 1, filled * 100, "half-up"));
}

/** The order's total fee so far: taker plus maker fees, rounded up to 4 decimals. */
function totalFee(o: { taker_fees_dollars: string; maker_fees_dollars: string }): string | null {
  const t = parseVenueDollars(o.taker_fees_dollars);
  const m = parseVenueDollars(o.maker_fees_dollars);
  return t === null || m === null ? null : venueDollars(formatFixed(t + m, MICRO_DECIMALS), "ceil");
}

export interface KalshiClientOptions {
  keyId: string | undefined;
  privateKeyPem: string | undefined;
  fetch: EgressFetch;
  now: () => number;
  baseUrl?: string;
}

export type KalshiClient = ReturnType<typeof createKalshiClient>;

export function createKalshiClient(o: KalshiClientOptions) {
  const base = o.baseUrl ?? KALSHI_BASE;
  const signer = createKalshiSigner({ keyId: o.keyId, privateKeyPem: o.privateKeyPem, now: o.now });

  const call: VenueRequest = async (method, pathAndQuery, schema, body) => {
    if (!signer) return verr("not_configured", "KALSHI_API_KEY / KALSHI_PRIVATE_KEY not set");
    const write = method !== "GET";
    const url = new URL(base + pathAndQuery);
    let auth: Record<string, string>;
    try {
      auth = await signer.headers(method, url);
    } catch (e) {
      return verr("not_configured", `KALSHI_PRIVATE_KEY unusable: ${(e as Error).message}`);
    }
    let res: Response;
    try {
      res = await o.fetch(url, {
        method,
        headers: { ...auth, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      return { ok: false, error: classifyThrown(e, write) };
    }
    if (!res.ok) return { ok: false, error: classifyStatus(res.status, await errorMessage(res), write) };
    const parsed = v.safeParse(schema, await res.json().catch(() => null));
    if (!parsed.success)
      return verr(
        write ? "outcome_unknown" : "invalid_response",
        "unexpected Kalshi response shape",
        res.status,
      );
    return vok(parsed.output);
  };

  /** Every page of a cursor-paged portfolio list; "unavailable" past MAX_PAGES (a partial list is not an answer). */
  async function allPages<T>(
    path: string,
    query: string,
    page: (cursor: string) => Promise<VenueResult<{ items: T[]; cursor: string }>>,
  ): Promise<VenueResult<T[]>> {
    const out: T[] = [];
    let cursor = "";
    for (let i = 0; i < MAX_PAGES; i++) {
      const r = await page(cursor);
      if (!r.ok) return r;
      out.push(...r.value.items);
      cursor = r.value.cursor;
      if (!cursor) return vok(out);
    }
    return verr("unavailable", `${path}?${query} spans more than ${MAX_PAGES} pages`);
  }
  const q = (params: Record<string, string | undefined>) =>
    new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => !!e[1])).toString();

  const view = (x: v.InferOutput<typeof Order>): KalshiOrderView => ({
    orderId: x.order_id,
    clientOrderId: x.client_order_id,
    ticker: x.ticker,
    status: x.status,
    filled: countOf(x.fill_count_fp),
    remaining: countOf(x.remaining_count_fp),
    avgPrice: averageFromFillCost({ ...x, fill_count_fp: x.fill_count_fp }),
    fee: totalFee(x),
  });

  return {
    async createOrder(n: KalshiNewOrder): Promise<VenueResult<KalshiAck>> {
      const r = await call("POST", "/portfolio/events/orders", OrderAck, {
        ticker: n.ticker,
        client_order_id: n.clientOrderId,
        side: n.side === "buy" ? "bid" : "ask",
        count: fixedCount(n.count),
        price: fixedPrice(n.price),
        time_in_force: n.timeInForce,
        self_trade_prevention_type: "taker_at_cross",
      });
      if (!r.ok) return r;
      const filled = countOf(r.value.fill_count);
      const hundredths = countHundredths(r.value.fill_count) ?? 0;
      // Both averages are per contract and may carry 6 decimals: the price is kept to 4 (half up), the fee
      // becomes the order's total (per-contract fee × the exact count), rounded up to 4 (never under-counted).
      const avgMicros = parseVenueDollars(r.value.average_fill_price);
      const feeMicros = parseVenueDollars(r.value.average_fee_paid);
      return vok({
        orderId: r.value.order_id,
        filled,
        remaining: countOf(r.value.remaining_count),
        avgPrice: avgMicros === null ? null : formatPrice(rescale(avgMicros, MICRO_DECIMALS, 4, "half-up")),
        fee: feeMicros === null ? null : formatPrice(mulDiv(feeMicros, hundredths, 10_000, "ceil")),
      });
    },
    /** Kalshi has no lookup by client_order_id: list the market's orders (every page) and match it. */
    async findByClientOrderId(
      ticker: string,
      clientOrderId: string,
    ): Promise<VenueResult<KalshiOrderView | null>> {
      let cursor = "";
      for (let page = 0; page < MAX_PAGES; page++) {
        const r = await call(
          "GET",
          `/portfolio/orders?${q({ ticker, limit: String(PORTFOLIO_PAGE), cursor })}`,
          OrderList,
        );
        if (!r.ok) return r;
        const found = r.value.orders.find((x) => x.client_order_id === clientOrderId);
        if (found) return vok(view(found));
        cursor = r.value.cursor;
        if (!cursor) return vok(null);
      }
      // Not seen in MAX_PAGES pages: say "unavailable" rather than "absent", so nothing concludes it was never sent.
      return verr("unavailable", `order ${clientOrderId} not found within ${MAX_PAGES} pages of ${ticker}`);
    },
    async getOrder(orderId: string): Promise<VenueResult<KalshiOrderView>> {
      const r = await call(
        "GET",
        `/portfolio/orders/${encodeURIComponent(orderId)}`,
        v.object({ order: Order }),
      );
      return r.ok ? vok(view(r.value.order)) : r;
    },
    async cancelOrder(orderId: string): Promise<VenueResult<{ reducedBy: number }>> {
      const r = await call(
        "DELETE",
        `/portfolio/events/orders/${encodeURIComponent(orderId)}`,
        v.object({ order_id: v.string(), reduced_by: Count }),
      );
      return r.ok ? vok({ reducedBy: countOf(r.value.reduced_by) }) : r;
    },
    /** Every non-zero market position (`count_filter=position`), exact to 0.01 (negative = NO). */
    async positions(): Promise<VenueResult<{ market: string; position: number }[]>> {
      const query = q({ count_filter: "position", limit: String(PORTFOLIO_PAGE) });
      return allPages("/portfolio/positions", query, async (cursor) => {
        const r = await call(
          "GET",
          `/portfolio/positions?${q({ count_filter: "position", limit: String(PORTFOLIO_PAGE), cursor })}`,
          Positions,
        );
        if (!r.ok) return r;
        return vok({
          items: r.value.market_positions.map((p) => ({
            market: p.ticker,
            position: countOf(p.position_fp),
          })),
          cursor: r.value.cursor,
        });
      });
    },
    /** Every fill (of one market), every page. */
    async fills(ticker?: string): Promise<VenueResult<v.InferOutput<typeof Fill>[]>> {
      const query = q({ ticker, limit: String(PORTFOLIO_PAGE) });
      return allPages("/portfolio/fills", query, async (cursor) => {
        const r = await call(
          "GET",
          `/portfolio/fills?${q({ ticker, limit: String(PORTFOLIO_PAGE), cursor })}`,
          Fills,
        );
        return r.ok ? vok({ items: r.value.fills, cursor: r.value.cursor }) : r;
      });
    },
    async balance(): Promise<VenueResult<{ balanceCents: number }>> {
      const r = await call("GET", "/portfolio/balance", v.object({ balance: v.number() }));
      return r.ok ? vok({ balanceCents: r.value.balance }) : r;
    },
  };
}
