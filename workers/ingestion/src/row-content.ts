// A market row's content as stored and its hash: pure, shared by the write plan (page-plan.ts) and the writes.
import { createHash } from "node:crypto";
import type { MarketRow } from "@paulp/venue-decode";

/**
 * SHA-256 of a market row's content: every stored column but the evidence hash, terms hash and time (the terms are
 * a function of the content). JSON.stringify escapes a lone surrogate, so distinct contents never share a form.
 */
export function contentHash(r: MarketRow): string {
  return createHash("sha256")
    .update(JSON.stringify(contentValues(r)))
    .digest("hex");
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
