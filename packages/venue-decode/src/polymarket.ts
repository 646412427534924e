import * as v from "valibot";
import { DollarString, listedId, PriceString, schemaSkip } from "./parse";
import { normPrice, probabilityFromNumber, probabilityFromString } from "./prices";
import type { MarketPage, MarketRow, MarketSkip, YesBook } from "./types";

/** Gamma's production base URL (docs.polymarket.com). */
export const GAMMA_BASE = "https://gamma-api.polymarket.com";
/** The CLOB's production base URL. */
export const CLOB_BASE = "https://clob.polymarket.com";

// Every field below is read as Polymarket's own bindings type it (Polymarket/ts-sdk
// packages/bindings/src/gamma/market.ts, `GammaMarketSchema`): all but `id` may be absent or null.
const Opt = <S extends v.GenericSchema>(s: S) => v.optional(v.nullable(s));

/**
 * `outcomes`, `outcomePrices` and `clobTokenIds`: the bindings parse a JSON-encoded string (what gamma sends) and
 * accept an array as well; absent or null is an empty list.
 */
const StringList = v.pipe(
  v.union([v.string(), v.array(v.unknown())]),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    let value: unknown = dataset.value;
    if (typeof value === "string") {
      try {
        value = JSON.parse(value);
      } catch {
        value = undefined;
      }
    }
    if (value === null) return [] as string[];
    if (Array.isArray(value) && value.every((x) => typeof x === "string")) return value as string[];
    addIssue({ message: "must be an array of strings or one JSON-encoded" });
    return NEVER;
  }),
);

/** The bindings' `DecimalishSchema`: a decimal string or a JSON number. */
const Decimalish = v.union([v.string(), v.number()]);

/** The fields of a gamma market we read, each as the bindings type it; nothing else is read. */
export const GammaMarket = v.object({
  id: v.string(),
  question: Opt(v.string()),
  conditionId: Opt(v.string()),
  slug: Opt(v.string()),
  description: Opt(v.string()),
  resolutionSource: Opt(v.string()),
  endDate: Opt(v.string()),
  category: Opt(v.string()),
  active: Opt(v.boolean()),
  closed: Opt(v.boolean()),
  outcomes: Opt(StringList),
  outcomePrices: Opt(StringList),
  clobTokenIds: Opt(StringList),
  bestBid: Opt(Decimalish),
  bestAsk: Opt(Decimalish),
  lastTradePrice: Opt(Decimalish),
  events: Opt(v.array(v.object({ id: v.union([v.string(), v.number()]) }))),
});
/** A gamma market as read. */
export type GammaMarket = v.InferOutput<typeof GammaMarket>;

/**
 * `GET /markets/keyset`: `{ markets, next_cursor? }` (the bindings' `ListMarketsKeysetResponseSchema`);
 * `next_cursor` is absent on the last page. Markets are checked one by one (`gammaPage`), so one market we
 * cannot represent is skipped alone.
 */
export const GammaKeysetPage = v.object({
  markets: v.array(v.unknown()),
  next_cursor: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(4096))),
});

/** CLOB `GET /book`, as clob-client's `OrderBookSummary` types the fields read (prices and sizes as strings). */
export const ClobBook = v.object({
  market: v.string(),
  asset_id: v.string(),
  bids: v.array(v.object({ price: PriceString, size: DollarString })),
  asks: v.array(v.object({ price: PriceString, size: DollarString })),
});

/**
 * One page as the official SDK asks for it: `listMarkets({ closed: false, pageSize })` sends
 * `GET /markets/keyset?closed=false&limit=…&after_cursor=…` (ts-sdk packages/client/src/actions/markets.ts).
 */
export function gammaMarketsUrl(cursor: string | null, limit: number): string {
  const u = new URL(`${GAMMA_BASE}/markets/keyset`);
  u.searchParams.set("closed", "false");
  u.searchParams.set("limit", String(limit));
  if (cursor !== null) u.searchParams.set("after_cursor", cursor);
  return u.href;
}

/**
 * Markets looked up by condition id, whatever their state: the SDK's `listMarkets({ pageSize, conditionIds })` sends
 * `GET /markets/keyset?limit=n&condition_ids=a&condition_ids=b` (`toMarketsSearchParams`: camelCase to snake_case,
 * an array as one repeated parameter; ts-sdk packages/client/src/actions/markets.ts and params.ts), with no `closed`
 * filter, so closed markets come back with `closed: true`. The public endpoint "forces active=true and archived=false
 * server-side" (the same file), so an archived market is not answered at all.
 */
export function gammaMarketsByIdUrl(conditionIds: string[], cursor: string | null): string {
  const u = new URL(`${GAMMA_BASE}/markets/keyset`);
  u.searchParams.set("limit", String(conditionIds.length));
  for (const id of conditionIds) u.searchParams.append("condition_ids", id);
  if (cursor !== null) u.searchParams.set("after_cursor", cursor);
  return u.href;
}

/** Condition ids per lookup: every URL is kept with its evidence in R2 custom metadata (2,048 bytes in all). */
export const GAMMA_LOOKUP_IDS = 16;

/** Condition ids in lookup-sized groups. */
export function gammaLookupChunks(ids: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += GAMMA_LOOKUP_IDS) out.push(ids.slice(i, i + GAMMA_LOOKUP_IDS));
  return out;
}

/** The URL of one token's book (clob-client `getOrderBook`: `GET /book` with `token_id`). */
export function clobBookUrl(tokenId: string): string {
  return `${CLOB_BASE}/book?token_id=${encodeURIComponent(tokenId)}`;
}

const CONDITION_ID = /^0x[0-9a-fA-F]{64}$/;

/** A Decimalish price in [0, 1] as a 4-decimal string; anything else (empty, above $1, not a number) is no price. */
function price(p: string | number | null | undefined): string | null {
  return typeof p === "number" ? probabilityFromNumber(p) : probabilityFromString(p);
}

/** Why a market we read cannot be stored, or null when it can. */
function unrepresentable(m: GammaMarket): MarketSkip["reason"] | null {
  if (!m.question?.trim()) return "no_question";
  if (m.question.length > 1000) return "too_long";
  if (!m.conditionId) return "no_condition_id";
  if (!CONDITION_ID.test(m.conditionId)) return "bad_condition_id";
  if ((m.description?.length ?? 0) > 20_000 || (m.resolutionSource?.length ?? 0) > 2000) return "too_long";
  if (m.endDate && Number.isNaN(Date.parse(m.endDate))) return "bad_end_date";
  const outcomes = m.outcomes ?? [];
  if (outcomes.length === 0) return "no_outcomes";
  // Only a YES/NO contract can be traded as one: two-sided markets named otherwise ("Up"/"Down", two teams)
  // are listed but not ingested.
  if (outcomes.length !== 2 || outcomes[0] !== "Yes" || outcomes[1] !== "No") return "not_yes_no";
  if (m.clobTokenIds?.length !== 2) return "no_tokens";
  return null;
}

/**
 * Normalise a keyset page market by market: each is checked against its schema and what we can represent; one
 * that fails is skipped with its reason and the rest of the page goes on. The next page is the server's
 * `next_cursor`: the server clamps `limit` silently, so a short page never by itself means the last one.
 */
export function gammaPage(page: v.InferOutput<typeof GammaKeysetPage>): MarketPage {
  const rows: MarketRow[] = [];
  const skips: MarketSkip[] = [];
  for (const raw of page.markets) {
    const parsed = v.safeParse(GammaMarket, raw);
    if (!parsed.success) {
      skips.push(schemaSkip(raw, "id", parsed.issues));
      continue;
    }
    const m = parsed.output;
    const reason = unrepresentable(m);
    if (reason) {
      skips.push({ id: listedId(raw, "id"), reason });
      continue;
    }
    rows.push({
      venue: "polymarket",
      marketId: m.conditionId!.toLowerCase(),
      eventId: m.events?.[0]?.id !== undefined ? String(m.events[0].id) : null,
      seriesId: m.slug || null,
      title: m.question!,
      // An empty category is no category (risk refuses an empty one).
      category: m.category || null,
      status: m.closed ? "closed" : m.active === false ? "inactive" : "active",
      closeTime: m.endDate ? new Date(m.endDate).toISOString() : null,
      rules: m.description ?? null,
      resolutionSource: m.resolutionSource ?? null,
      yesBid: price(m.bestBid),
      yesAsk: price(m.bestAsk),
      lastPrice: price(m.lastTradePrice) ?? probabilityFromString(m.outcomePrices?.[0]),
      outcomeTokens: m.clobTokenIds!,
    });
  }
  return { rows, next: page.next_cursor ?? null, skips };
}

/** The YES token's book, best first. */
export function clobYesBook(book: v.InferOutput<typeof ClobBook>): YesBook {
  const level = (l: { price: string; size: string }) => ({ price: normPrice(l.price)!, size: l.size });
  return {
    bids: book.bids.map(level).sort((a, b) => Number(b.price) - Number(a.price)),
    asks: book.asks.map(level).sort((a, b) => Number(a.price) - Number(b.price)),
  };
}
