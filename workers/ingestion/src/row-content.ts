// A market row's content as stored and the key it is compared by: pure, shared by the write plan (page-plan.ts) and
// the writes.
import type { MarketRow } from "@paulp/venue-decode";

/**
 * What a row's content is compared by, to decide whether it is rewritten: its terms hash (SHA-256 over the terms:
 * venue, id, title, rules, source, close time, outcome tokens) followed by the JSON of every other stored content
 * column, verbatim. Two rows share a key only when their contents are equal (up to a SHA-256 collision in the terms),
 * and a row costs one hash, the terms hash it stores anyway (a separate content hash was a second SHA-256 per new
 * row, an eighth of a cold pass).
 */
export function contentKey(r: MarketRow, termsHash: string): string {
  return `${termsHash}${JSON.stringify([r.eventId, r.seriesId, r.category, r.status, r.yesBid, r.yesAsk, r.lastPrice])}`;
}

/** A row's content columns as stored, in MARKET_COLUMNS order (the token ids as their JSON). */
export function contentValues(r: MarketRow): (string | null)[] {
  return [
    r.venue,
    r.marketId,
    r.eventId,
    r.seriesId,
    r.title,
    r.category,
    r.status,
    r.closeTime,
    r.rules,
    r.resolutionSource,
    r.yesBid,
    r.yesAsk,
    r.lastPrice,
    r.outcomeTokens ? JSON.stringify(r.outcomeTokens) : null,
  ];
}
