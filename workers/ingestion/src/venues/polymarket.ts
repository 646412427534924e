import * as v from "valibot";
import { normDecimal, probabilityFromNumber, probabilityFromString } from "../decimal";
import { DollarString, IsoTime, PriceString } from "./parse";
import type { MarketPage, MarketRow, YesBook } from "./types";

/** Gamma's production base URL (docs.polymarket.com). */
export const GAMMA_BASE = "https://gamma-api.polymarket.com";
/** The CLOB's production base URL. */
export const CLOB_BASE = "https://clob.polymarket.com";

const Opt = <S extends v.GenericSchema>(s: S) => v.optional(v.nullable(s));

/** Gamma sends `outcomes`, `outcomePrices` and `clobTokenIds` as JSON-encoded strings: decode and check. */
const JsonStringArray = v.pipe(
  v.string(),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    try {
      const value = JSON.parse(dataset.value) as unknown;
      if (Array.isArray(value) && value.every((x) => typeof x === "string")) return value as string[];
    } catch {
      // fall through to the issue
    }
    addIssue({ message: "must be a JSON-encoded array of strings" });
    return NEVER;
  }),
);

const Probability = v.pipe(v.number(), v.minValue(0), v.maxValue(1));

/** A gamma market. */
export const GammaMarket = v.object({
  id: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  question: v.pipe(v.string(), v.minLength(1), v.maxLength(1000)),
  conditionId: v.pipe(v.string(), v.regex(/^0x[0-9a-fA-F]{64}$/, "must be a condition id")),
  slug: Opt(v.string()),
  description: Opt(v.pipe(v.string(), v.maxLength(20_000))),
  resolutionSource: Opt(v.pipe(v.string(), v.maxLength(2000))),
  endDate: Opt(IsoTime),
  category: Opt(v.string()),
  active: Opt(v.boolean()),
  closed: Opt(v.boolean()),
  outcomes: JsonStringArray,
  outcomePrices: v.optional(v.nullable(JsonStringArray)),
  clobTokenIds: v.optional(v.nullable(JsonStringArray)),
  bestBid: Opt(Probability),
  bestAsk: Opt(Probability),
  lastTradePrice: Opt(Probability),
  events: Opt(v.array(v.object({ id: v.optional(v.union([v.string(), v.number()])) }))),
});

/** Gamma `GET /markets` answers a bare array. */
export const GammaMarketsPage = v.array(GammaMarket);

/** CLOB `GET /book`: levels as strings; bids ascending and asks descending (best last). */
export const ClobBook = v.object({
  market: v.string(),
  asset_id: v.string(),
  bids: v.array(v.object({ price: PriceString, size: DollarString })),
  asks: v.array(v.object({ price: PriceString, size: DollarString })),
});

/** The URL of one gamma page. */
export function gammaMarketsUrl(offset: number, limit: number): string {
  const u = new URL(`${GAMMA_BASE}/markets`);
  u.searchParams.set("limit", String(limit));
  u.searchParams.set("offset", String(offset));
  return u.href;
}

/** The URL of one token's book. */
export function clobBookUrl(tokenId: string): string {
  return `${CLOB_BASE}/book?token_id=${encodeURIComponent(tokenId)}`;
}

/** Normalise a validated gamma page; only binary Yes/No markets with token ids are ingested. */
export function gammaPage(
  page: v.InferOutput<typeof GammaMarketsPage>,
  offset: number,
  limit: number,
): MarketPage {
  const rows: MarketRow[] = [];
  let skipped = 0;
  for (const m of page) {
    const binary = m.outcomes.length === 2 && m.outcomes[0] === "Yes" && m.outcomes[1] === "No";
    if (!binary || !m.clobTokenIds || m.clobTokenIds.length !== 2) {
      skipped++;
      continue;
    }
    rows.push({
      venue: "polymarket",
      marketId: m.conditionId.toLowerCase(),
      eventId: m.events?.[0]?.id !== undefined ? String(m.events[0].id) : null,
      seriesId: m.slug ?? null,
      title: m.question,
      // An empty category is no category (risk refuses an empty one).
      category: m.category || null,
      status: m.closed ? "closed" : m.active === false ? "inactive" : "active",
      closeTime: m.endDate ? new Date(m.endDate).toISOString() : null,
      rules: m.description ?? null,
      resolutionSource: m.resolutionSource ?? null,
      yesBid: probabilityFromNumber(m.bestBid),
      yesAsk: probabilityFromNumber(m.bestAsk),
      lastPrice: probabilityFromNumber(m.lastTradePrice) ?? probabilityFromString(m.outcomePrices?.[0]),
      outcomeTokens: m.clobTokenIds,
    });
  }
  return { rows, next: page.length < limit ? null : String(offset + limit), skipped };
}

/** The YES token's book, best first. */
export function clobYesBook(book: v.InferOutput<typeof ClobBook>): YesBook {
  const level = (l: { price: string; size: string }) => ({ price: normDecimal(l.price)!, size: l.size });
  return {
    bids: book.bids.map(level).sort((a, b) => Number(b.price) - Number(a.price)),
    asks: book.asks.map(level).sort((a, b) => Number(a.price) - Number(b.price)),
  };
}
