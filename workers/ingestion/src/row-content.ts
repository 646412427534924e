// A market row's content as stored and the key it is compared by: pure, shared by the write plan (page-plan.ts) and
// the writes.
import type { MarketRow } from "@paulp/venue-decode";
import { termsFingerprint } from "./terms";

/** The content key's scheme: a key of another scheme (or none) never equals a new one, so that row is rewritten once. */
export const CONTENT_KEY_SCHEME = "c2:";

/**
 * What a row's content is compared by, to decide whether it is rewritten: the scheme, the terms' 64-bit fingerprint
 * (venue, id, title, rules, source, close time, outcome tokens; `termsFingerprint`), then the JSON of every other
 * stored content column, verbatim (event, series, category, status and the prices: exact). No SHA-256 is spent on a
 * row to write it (a cold pass's largest single cost was one per new market): the terms hash a pair is reviewed against
 * is computed from the stored fields when it is read. The row's terms must be well-formed (`termsWellFormed`).
 */
export function contentKey(r: MarketRow): string {
  return `${CONTENT_KEY_SCHEME}${termsFingerprint(r)}${JSON.stringify([r.eventId, r.seriesId, r.category, r.status, r.yesBid, r.yesAsk, r.lastPrice])}`;
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
