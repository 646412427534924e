import { createHash } from "node:crypto";
import { canonicalHash } from "@paulp/kit";

/**
 * The fields of a contract's terms that a pair's review depends on: what settles it (rules, source, close time) and
 * what a person reads and trades it by (the title, and on Polymarket the YES / NO outcome token ids, whose order says
 * which token is YES).
 */
export interface Terms {
  venue: string;
  marketId: string;
  title: string | null;
  rules: string | null;
  resolutionSource: string | null;
  closeTime: string | null;
  outcomeTokens: string[] | null;
}

/**
 * The terms-hash scheme. Version 1 (`paulp.market-terms.v1`) covered rules, source and close time only; version 2
 * adds the title and the outcome tokens. Governance keeps the version of each pair's hashes and re-keys a pair
 * reviewed under version 1 when nothing the person saw changed (docs/governance.md, "Terms hash versions").
 */
export const TERMS_VERSION = 2;
/** Domain of the terms hash (kit's canonicalHash form: `domain\ncanonical-json`). */
export const TERMS_DOMAIN = "paulp.market-terms.v2";

const SURROGATE = /[\ud800-\udfff]/;

/**
 * `canonicalHash(TERMS_DOMAIN, terms)`, computed synchronously: a per-row async digest dominated a 10,000-market
 * pass. The object has fixed keys with string, null or string-array members, so its RFC 8785 form is the sorted keys
 * with JSON.stringify'd values; anything with a surrogate takes the general (validating) path.
 */
export async function termsHash(t: Terms): Promise<string> {
  return termsHashSync(t) ?? canonicalHash(TERMS_DOMAIN, termsOf(t));
}

// At module level, not a closure made per call: the bundle names every closure with a defineProperty call (esbuild's
// keepNames), which cost more per row than the test itself.
const has = (s: string | null) => s !== null && SURROGATE.test(s);

/** The terms hash without awaiting, or null when a field holds a surrogate (then only `termsHash` answers). */
export function termsHashSync(t: Terms): string | null {
  if (
    has(t.closeTime) ||
    has(t.marketId) ||
    has(t.resolutionSource) ||
    has(t.rules) ||
    has(t.title) ||
    has(t.venue) ||
    (t.outcomeTokens?.some(has) ?? false)
  )
    return null;
  return termsHashFast(t);
}

/** The synchronous fast path (no surrogates). */
export function termsHashFast(t: Terms): string {
  const canonical = `{"closeTime":${JSON.stringify(t.closeTime)},"marketId":${JSON.stringify(t.marketId)},"outcomeTokens":${JSON.stringify(t.outcomeTokens)},"resolutionSource":${JSON.stringify(t.resolutionSource)},"rules":${JSON.stringify(t.rules)},"title":${JSON.stringify(t.title)},"venue":${JSON.stringify(t.venue)}}`;
  return createHash("sha256").update(`${TERMS_DOMAIN}\n${canonical}`).digest("hex");
}

type SettlementFields = "venue" | "marketId" | "title" | "rules" | "resolutionSource" | "closeTime";

/**
 * What a row says of the market and its settlement, as the row types it (a stored row's venue stays its union, a
 * pair leg's title a string): the fields the terms cover apart from the outcome tokens, which only some rows carry.
 */
export function settlementFields<R extends Pick<Terms, SettlementFields>>(r: R): Pick<R, SettlementFields> {
  return {
    venue: r.venue,
    marketId: r.marketId,
    title: r.title,
    rules: r.rules,
    resolutionSource: r.resolutionSource,
    closeTime: r.closeTime,
  };
}

/** The terms of a stored row, as the hash covers them (a row without outcome tokens has none). */
export function termsOf(r: Pick<Terms, SettlementFields> & { outcomeTokens?: string[] | null }): Terms {
  return { ...settlementFields(r), outcomeTokens: r.outcomeTokens ?? null };
}
