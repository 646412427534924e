import {
  divRound,
  formatPrice,
  MICRO_DECIMALS,
  orNull,
  PRICE_DECIMALS,
  parseFixed,
  rescale,
} from "@paulp/kit";
import * as v from "valibot";

/**
 * What IBKR's Client Portal Web API answers, as we read it: each schema has only fields its spec definition
 * names, every one optional (the client in ibkr.ts fails closed when one it needs is missing), and the pure
 * readings of those answers. The conformance suite walks `IBKR_ANSWERS` against the vendored spec.
 */
// ---- the answers we read, each with only fields its spec schema names ----

/** `definitions/authStatus` (POST /iserver/auth/status, POST /iserver/reauthenticate). */
export const AuthStatus = v.object({
  authenticated: v.optional(v.boolean()),
  connected: v.optional(v.boolean()),
  competing: v.optional(v.boolean()),
  fail: v.optional(v.string()),
});
/** GET /iserver/accounts. */
export const IserverAccounts = v.object({
  accounts: v.optional(v.array(v.string())),
  selectedAccount: v.optional(v.string()),
});
/** POST /iserver/account (switch account). */
export const SwitchedAccount = v.object({ set: v.optional(v.boolean()) });
/** GET /portfolio/accounts: `definitions/accounts`. */
export const PortfolioAccounts = v.array(
  v.object({ id: v.optional(v.string()), accountId: v.optional(v.string()) }),
);
const Id = v.union([v.string(), v.number()]);
/**
 * An answer of the order dialogue, one element per order (we send one): a question `{ id, message }` (Place
 * Orders) or a submitted order `{ order_id, order_status }` (Place Order Reply). Either endpoint may give either
 * in practice (an order asked nothing, a reply asking again), so both read both; every field stays optional.
 */
export const OrderAnswer = v.array(
  v.object({
    id: v.optional(v.string()),
    message: v.optional(v.array(v.string())),
    order_id: v.optional(Id),
    order_status: v.optional(v.string()),
  }),
);
/** GET /iserver/account/orders. */
export const LiveOrders = v.object({
  orders: v.optional(
    v.array(
      v.object({
        acct: v.optional(v.string()),
        orderId: v.optional(Id),
        order_ref: v.optional(v.string()),
        status: v.optional(v.string()),
        filledQuantity: v.optional(v.number()),
      }),
    ),
  ),
});
const Decimal = v.union([v.string(), v.number()]);
/** GET /iserver/account/trades: `definitions/trade`. */
export const Trades = v.array(
  v.object({
    execution_id: v.optional(v.string()),
    order_ref: v.optional(v.string()),
    account: v.optional(v.string()),
    size: v.optional(Decimal),
    price: v.optional(Decimal),
    commission: v.optional(Decimal),
  }),
);
/** GET /portfolio/{accountId}/positions/{pageId}: `definitions/position`. */
export const PositionPage = v.array(
  v.object({
    acctId: v.optional(v.string()),
    conid: v.optional(v.number()),
    position: v.optional(v.number()),
  }),
);

/** Every answer the client parses, by the spec operation that serves it (the conformance suite walks this). */
export const IBKR_ANSWERS = [
  { method: "POST", template: "/iserver/auth/status", schema: AuthStatus },
  { method: "POST", template: "/iserver/reauthenticate", schema: AuthStatus },
  { method: "GET", template: "/iserver/accounts", schema: IserverAccounts },
  { method: "POST", template: "/iserver/account", schema: SwitchedAccount },
  { method: "GET", template: "/portfolio/accounts", schema: PortfolioAccounts },
  { method: "POST", template: "/iserver/account/{accountId}/orders", schema: OrderAnswer },
  { method: "POST", template: "/iserver/reply/{replyid}", schema: OrderAnswer },
  { method: "GET", template: "/iserver/account/orders", schema: LiveOrders },
  { method: "GET", template: "/iserver/account/trades", schema: Trades },
  { method: "GET", template: "/portfolio/{accountId}/positions/{pageId}", schema: PositionPage },
] as const;

/** An IBKR order in our terms: `conid` is the contract id, `price` a decimal string. */
export interface IbkrNewOrder {
  conid: number;
  side: "buy" | "sell";
  quantity: number;
  price: string;
  cOID: string;
}

/** What the venue says about one of our orders: its live-order row and its executions. */
export interface IbkrOrderReport {
  orderId: string | null;
  /** The spec's order status (`order.status`), null when the order is no longer among the live orders. */
  status: string | null;
  /** Quantity the live-order row says filled (null when it does not say). */
  venueFilled: number | null;
  /** Executions that carry a size and an average price, summed. */
  fills: { quantity: number; avgPrice: string | null; fee: string | null };
  /** Executions seen without a usable size or price: their fill is not known yet. */
  unpriced: number;
}

/** A decimal (string or number) in micro-units, or null when it is not a plain non-negative decimal. */
function micros(x: string | number | undefined, roundUp = false): number | null {
  if (x === undefined) return null;
  const s = typeof x === "number" ? (Number.isFinite(x) && x >= 0 ? x.toFixed(8) : "") : x.trim();
  return orNull(() => parseFixed(s, MICRO_DECIMALS, { rounding: roundUp ? "ceil" : "trunc", signed: false }));
}

/**
 * One order's executions as a fill: the size-weighted average price (`trade.price` is each execution's average
 * price) and the summed commission (null when an execution does not say, so the caller charges the schedule).
 * Pure; sizes are whole shares (our orders are), a fractional size counts as unpriced.
 */
export function fillOf(rows: v.InferOutput<typeof Trades>): IbkrOrderReport["fills"] & { unpriced: number } {
  let quantity = 0n;
  let cost = 0n; // micro-dollars × shares
  let fee = 0n;
  let feeKnown = true;
  let unpriced = 0;
  for (const t of rows) {
    const size = micros(t.size);
    const price = micros(t.price);
    if (size === null || price === null || size === 0 || size % 1_000_000 !== 0) {
      unpriced++;
      continue;
    }
    const shares = BigInt(size / 1_000_000);
    quantity += shares;
    cost += shares * BigInt(price);
    const c = micros(t.commission, true);
    if (c === null) feeKnown = false;
    else fee += BigInt(c);
  }
  return {
    quantity: Number(quantity),
    // cost / quantity micro-dollars as our 4-decimal price (1e-4 $ = 100 micros) rounded half up, in one division;
    // the fee rounded up (never under-counted). Past 2^53 units either is kit's MoneyError, never a string.
    avgPrice: quantity > 0n ? formatPrice(Number(divRound(cost, 100n * quantity, "half-up"))) : null,
    fee: quantity > 0n && feeKnown ? formatPrice(rescale(fee, MICRO_DECIMALS, PRICE_DECIMALS, "ceil")) : null,
    unpriced,
  };
}
