import type { EgressFetch } from "@paulp/kit";
import * as v from "valibot";
import { fromBp, normFee, normPrice, toMicros } from "../decimal";
import { importRsaPssPrivateKey } from "./pem";
import { classifyStatus, classifyThrown, errorMessage, type VenueResult, verr, vok } from "./result";

/**
 * Kalshi Trade API v2 client (docs.kalshi.com quick_start_authenticated_requests, create-order-v2; the
 * official kalshi-typescript SDK's auth): every request is signed with RSA-PSS (SHA-256, MGF1-SHA-256, salt
 * 32) over `timestamp_ms + METHOD + path`, path including /trade-api/v2 and excluding the query string.
 * Prices are fixed-point dollar strings ("0.5600"), counts fixed-point strings ("10.00").
 */
export const KALSHI_BASE = "https://api.elections.kalshi.com/trade-api/v2";
/** Pages followed by a listing before it gives up (each up to 1,000 rows). */
const MAX_PAGES = 10;

const Fp = v.union([v.pipe(v.string(), v.regex(/^-?\d+(\.\d+)?$/)), v.number()]);
const OrderAck = v.object({
  order_id: v.string(),
  client_order_id: v.optional(v.string()),
  fill_count: Fp,
  remaining_count: v.optional(Fp),
  average_fill_price: v.optional(v.nullable(v.string())),
  average_fee_paid: v.optional(v.nullable(v.string())),
});
const Order = v.object({
  order_id: v.string(),
  client_order_id: v.string(),
  ticker: v.string(),
  status: v.picklist(["resting", "canceled", "executed", "pending"]),
  fill_count_fp: Fp,
  remaining_count_fp: v.optional(Fp),
  yes_price_dollars: v.optional(v.string()),
  taker_fees_dollars: v.optional(v.string()),
});
const OrderList = v.object({ orders: v.array(Order), cursor: v.optional(v.nullable(v.string())) });
const Positions = v.object({
  market_positions: v.array(v.object({ ticker: v.string(), position_fp: Fp })),
  cursor: v.optional(v.nullable(v.string())),
});
const Fills = v.object({
  fills: v.array(
    v.object({
      fill_id: v.string(),
      order_id: v.string(),
      client_order_id: v.optional(v.string()),
      ticker: v.string(),
      count_fp: Fp,
      yes_price_dollars: v.optional(v.string()),
      yes_price_fixed: v.optional(v.string()),
    }),
  ),
});

/** A Kalshi order as the order manager needs it. */
export interface KalshiOrderView {
  orderId: string;
  clientOrderId: string;
  ticker: string;
  status: "resting" | "canceled" | "executed" | "pending";
  filled: number;
  remaining: number;
  avgPrice: string | null;
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

/** Count strings like "10.00" (or numbers) as whole contracts. */
export function countOf(x: string | number): number {
  return Math.trunc(typeof x === "number" ? x : Number(x));
}

/** A dollar string normalised to Kalshi's 4-decimal fixed point. */
export function fixedPrice(price: string): string {
  const [w, f = ""] = price.split(".");
  return `${w}.${f.padEnd(4, "0").slice(0, 4)}`;
}

/** Sign one request; exported for tests. */
export async function kalshiSignature(
  key: CryptoKey,
  timestamp: string,
  method: string,
  path: string,
): Promise<string> {
  const message = new TextEncoder().encode(`${timestamp}${method.toUpperCase()}${path}`);
  const sig = new Uint8Array(await crypto.subtle.sign({ name: "RSA-PSS", saltLength: 32 }, key, message));
  let s = "";
  for (const b of sig) s += String.fromCharCode(b);
  return btoa(s);
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
  let key: Promise<CryptoKey> | null = null;

  async function call<S extends v.GenericSchema>(
    method: string,
    pathAndQuery: string,
    schema: S,
    body?: unknown,
  ): Promise<VenueResult<v.InferOutput<S>>> {
    if (!o.keyId || !o.privateKeyPem)
      return verr("not_configured", "KALSHI_API_KEY / KALSHI_PRIVATE_KEY not set");
    const write = method !== "GET";
    let signature: string;
    const url = new URL(base + pathAndQuery);
    const ts = String(o.now());
    try {
      key ??= importRsaPssPrivateKey(o.privateKeyPem);
      signature = await kalshiSignature(await key, ts, method, url.pathname);
    } catch (e) {
      key = null;
      return verr("not_configured", `KALSHI_PRIVATE_KEY unusable: ${(e as Error).message}`);
    }
    let res: Response;
    try {
      res = await o.fetch(url, {
        method,
        headers: {
          "KALSHI-ACCESS-KEY": o.keyId,
          "KALSHI-ACCESS-TIMESTAMP": ts,
          "KALSHI-ACCESS-SIGNATURE": signature,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
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
  }

  const view = (x: v.InferOutput<typeof Order>): KalshiOrderView => ({
    orderId: x.order_id,
    clientOrderId: x.client_order_id,
    ticker: x.ticker,
    status: x.status,
    filled: countOf(x.fill_count_fp),
    remaining: countOf(x.remaining_count_fp ?? 0),
    avgPrice: normPrice(x.yes_price_dollars),
    fee: normFee(x.taker_fees_dollars),
  });

  return {
    async createOrder(n: KalshiNewOrder): Promise<VenueResult<KalshiAck>> {
      const r = await call("POST", "/portfolio/events/orders", OrderAck, {
        ticker: n.ticker,
        client_order_id: n.clientOrderId,
        side: n.side === "buy" ? "bid" : "ask",
        count: `${n.count}.00`,
        price: fixedPrice(n.price),
        time_in_force: n.timeInForce,
        self_trade_prevention_type: "taker_at_cross",
      });
      if (!r.ok) return r;
      const filled = countOf(r.value.fill_count);
      // Both averages are per contract and may carry 6 decimals: the price is kept to 4 (half up), the fee
      // becomes the order's total, rounded up to 4 (a fee is never under-counted).
      const avgMicros = toMicros(r.value.average_fill_price);
      const feeMicros = toMicros(r.value.average_fee_paid);
      return vok({
        orderId: r.value.order_id,
        filled,
        remaining: countOf(r.value.remaining_count ?? 0),
        avgPrice: avgMicros === null ? null : fromBp(Math.round(avgMicros / 100)),
        fee: feeMicros === null ? null : fromBp(Math.ceil((feeMicros * filled) / 100)),
      });
    },
    /** Kalshi has no lookup by client_order_id: list the market's orders and match it. */
    async findByClientOrderId(
      ticker: string,
      clientOrderId: string,
    ): Promise<VenueResult<KalshiOrderView | null>> {
      let cursor = "";
      for (let page = 0; page < MAX_PAGES; page++) {
        const q = `ticker=${encodeURIComponent(ticker)}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
        const r = await call("GET", `/portfolio/orders?${q}`, OrderList);
        if (!r.ok) return r;
        const found = r.value.orders.find((x) => x.client_order_id === clientOrderId);
        if (found) return vok(view(found));
        cursor = r.value.cursor ?? "";
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
        v.object({ order_id: v.string(), reduced_by: v.optional(Fp) }),
      );
      return r.ok ? vok({ reducedBy: countOf(r.value.reduced_by ?? 0) }) : r;
    },
    async positions(): Promise<VenueResult<{ market: string; position: number }[]>> {
      const out: { market: string; position: number }[] = [];
      let cursor = "";
      for (let page = 0; page < MAX_PAGES; page++) {
        const q = `limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
        const r = await call("GET", `/portfolio/positions?${q}`, Positions);
        if (!r.ok) return r;
        for (const p of r.value.market_positions)
          out.push({ market: p.ticker, position: countOf(p.position_fp) });
        cursor = r.value.cursor ?? "";
        if (!cursor) return vok(out);
      }
      // A partial list would show false drift: refuse it.
      return verr("unavailable", `positions span more than ${MAX_PAGES} pages`);
    },
    async fills(ticker?: string): Promise<VenueResult<v.InferOutput<typeof Fills>["fills"]>> {
      const r = await call(
        "GET",
        `/portfolio/fills${ticker ? `?ticker=${encodeURIComponent(ticker)}` : ""}`,
        Fills,
      );
      return r.ok ? vok(r.value.fills) : r;
    },
    async balance(): Promise<VenueResult<{ balanceCents: number }>> {
      const r = await call("GET", "/portfolio/balance", v.object({ balance: v.number() }));
      return r.ok ? vok({ balanceCents: r.value.balance }) : r;
    },
  };
}
