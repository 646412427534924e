/**
 * Polymarket's own models, as Polymarket publishes them: the raw gamma market and the keyset page from
 * `@polymarket/bindings` (the npm build of Polymarket/ts-sdk `packages/bindings/src/gamma/market.ts`), the CLOB
 * book and endpoint paths from `@polymarket/clob-client`. The simulator types what it serves with these and the
 * conformance suites check served bodies and our requests against them. Test and simulator use only.
 */
import { MidpointSchema, OrderBookSchema, PriceSchema } from "@polymarket/bindings/clob";
import {
  GammaMarketSchema,
  ListMarketsKeysetResponseSchema,
  ListMarketsResponseSchema,
} from "@polymarket/bindings/gamma";
import { GET_MIDPOINT, GET_ORDER_BOOK, GET_PRICE } from "@polymarket/clob-client/dist/endpoints";
import type { OrderBookSummary } from "@polymarket/clob-client/dist/types";
import type { z } from "zod";

type RawGammaMarket = z.input<typeof GammaMarketSchema>;

/**
 * Keys the bindings preprocess (JSON-encoded arrays, `""` → null). zod types their input `unknown` and lists them
 * as required, but the schema accepts them absent (each ends in `.nullish()`), so on the wire they are optional.
 */
type PreprocessedKeys = {
  [K in keyof RawGammaMarket]-?: unknown extends RawGammaMarket[K] ? K : never;
}[keyof RawGammaMarket];

/** One market as gamma serves it (the input of the bindings' `GammaMarketSchema`). An invented field fails to compile. */
export type GammaMarketWire = Omit<RawGammaMarket, PreprocessedKeys> & {
  [K in PreprocessedKeys]?: RawGammaMarket[K];
};

/** `GET /markets/keyset`: the input of the bindings' `ListMarketsKeysetResponseSchema`; `next_cursor` absent on the last page. */
export interface GammaKeysetPageWire
  extends Omit<z.input<typeof ListMarketsKeysetResponseSchema>, "markets" | "next_cursor"> {
  markets: GammaMarketWire[];
  next_cursor?: string;
}

/** `GET /book` as `@polymarket/clob-client` types it. */
export type ClobBookWire = OrderBookSummary;

/** `GET /price` and `GET /midpoint` (the bindings' `PriceSchema`, `MidpointSchema`; clob-client types them `any`). */
export type ClobPriceWire = z.input<typeof PriceSchema>;
/** `GET /midpoint`. */
export type ClobMidpointWire = z.input<typeof MidpointSchema>;

/** The CLOB paths clob-client calls (`GET_ORDER_BOOK`, `GET_PRICE`, `GET_MIDPOINT` in its `endpoints`). */
export const CLOB_PATHS = { book: GET_ORDER_BOOK, price: GET_PRICE, midpoint: GET_MIDPOINT } as const;

/** Every field of the raw gamma market the bindings know. */
export const GAMMA_MARKET_FIELDS: readonly string[] = Object.keys(GammaMarketSchema.shape);

/** Every field of clob-client's `OrderBookSummary` (a missing or extra key here fails to compile). */
export const CLOB_BOOK_FIELDS: readonly string[] = Object.keys({
  market: true,
  asset_id: true,
  timestamp: true,
  bids: true,
  asks: true,
  min_order_size: true,
  tick_size: true,
  neg_risk: true,
  last_trade_price: true,
  hash: true,
} satisfies Record<keyof OrderBookSummary, true>);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function extraKeys(value: unknown, known: readonly string[], where: string): string[] {
  if (!isRecord(value)) return [`${where}: not an object`];
  return Object.keys(value)
    .filter((k) => !known.includes(k))
    .map((k) => `${where}.${k}: not in the official model`);
}

function zodIssues(
  result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } },
  where: string,
): string[] {
  return result.success
    ? []
    : (result.error?.issues ?? []).map((i) => `${where}.${i.path.map(String).join(".")}: ${i.message}`);
}

/**
 * What is wrong with one served gamma market: fields the model lacks (the bindings' zod object would strip them
 * silently, so they are looked for here) and what `GammaMarketSchema` refuses.
 */
export function gammaMarketIssues(value: unknown, where = "market"): string[] {
  return [
    ...extraKeys(value, GAMMA_MARKET_FIELDS, where),
    ...zodIssues(GammaMarketSchema.safeParse(value), where),
  ];
}

/** What is wrong with a served `GET /markets/keyset` body. */
export function gammaKeysetPageIssues(body: unknown): string[] {
  const issues = [
    ...extraKeys(body, ["markets", "next_cursor"], "page"),
    ...zodIssues(ListMarketsKeysetResponseSchema.safeParse(body), "page"),
  ];
  const markets = isRecord(body) && Array.isArray(body.markets) ? body.markets : [];
  for (const [i, m] of markets.entries()) issues.push(...gammaMarketIssues(m, `page.markets.${i}`));
  return issues;
}

/** What is wrong with a served legacy `GET /markets` body (a bare array, the bindings' `ListMarketsResponseSchema`). */
export function gammaMarketListIssues(body: unknown): string[] {
  const issues = zodIssues(ListMarketsResponseSchema.safeParse(body), "list");
  for (const [i, m] of (Array.isArray(body) ? body : []).entries())
    issues.push(...gammaMarketIssues(m, `list.${i}`));
  return issues;
}

/**
 * What is wrong with a served `GET /book` body: every `OrderBookSummary` field present (clob-client types them all
 * required) with the type it gives, no other field, and what the bindings' `OrderBookSchema` refuses.
 */
export function clobBookIssues(body: unknown): string[] {
  const issues = extraKeys(body, CLOB_BOOK_FIELDS, "book");
  if (!isRecord(body)) return issues;
  for (const k of CLOB_BOOK_FIELDS) {
    const want = k === "bids" || k === "asks" ? "array" : k === "neg_risk" ? "boolean" : "string";
    const got = Array.isArray(body[k]) ? "array" : typeof body[k];
    if (got !== want) issues.push(`book.${k}: ${got}, clob-client types it ${want}`);
  }
  for (const side of ["bids", "asks"] as const) {
    for (const [i, level] of (Array.isArray(body[side]) ? body[side] : []).entries()) {
      issues.push(...extraKeys(level, ["price", "size"], `book.${side}.${i}`));
    }
  }
  return [...issues, ...zodIssues(OrderBookSchema.safeParse(body), "book")];
}

/** What is wrong with a served `GET /price` body. */
export function clobPriceIssues(body: unknown): string[] {
  return [...extraKeys(body, ["price"], "price"), ...zodIssues(PriceSchema.safeParse(body), "price")];
}

/** What is wrong with a served `GET /midpoint` body. */
export function clobMidpointIssues(body: unknown): string[] {
  return [...extraKeys(body, ["mid"], "midpoint"), ...zodIssues(MidpointSchema.safeParse(body), "midpoint")];
}

/** The parsed keyset page as the official SDK sees it (multi-outcome markets dropped, `nextCursor`). */
export function officialKeysetPage(body: unknown): { ids: string[]; nextCursor: string | undefined } {
  const page = ListMarketsKeysetResponseSchema.parse(body);
  return { ids: page.items.map((m) => String(m.id)), nextCursor: page.nextCursor };
}

/**
 * The request the official SDK sends for one page of `listMarkets({ closed, pageSize })` resumed at `cursor`:
 * `client.gamma.get('/markets/keyset', { params: toMarketsSearchParams({ ...params, cursor }) })`, where
 * `pageSize` maps to `limit` and `cursor` to `after_cursor`, in the order of the parsed request object
 * (Polymarket/ts-sdk `packages/client/src/actions/markets.ts` and `actions/params.ts`, commit
 * 04ed7b23b09d527ded5e6c951775ceb299cfcbb5). No headers beyond the transport's own: gamma reads are public.
 */
export function officialListMarketsRequest(o: { closed: boolean; pageSize: number; cursor?: string }): {
  path: string;
  query: URLSearchParams;
} {
  const query = new URLSearchParams();
  query.append("closed", String(o.closed));
  query.append("limit", String(o.pageSize));
  if (o.cursor !== undefined) query.append("after_cursor", o.cursor);
  return { path: "/markets/keyset", query };
}
