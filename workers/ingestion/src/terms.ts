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
  return lastTerms.hash(`${t.venue}\u0000${t.marketId}`, `${TERMS_DOMAIN}\n${canonical}`);
}

/** Most characters of terms text the isolate keeps to compare against (a few tens of MB of a Worker's 128 MB). */
export const LAST_TERMS_MAX_CHARS = 16_000_000;

/**
 * The last terms text hashed for each market in this isolate, with its SHA-256. A market re-polled with the same
 * terms (nearly all of a pass every minute) is answered by comparing the text, not by another native hash call
 * (~8 µs each in workerd whatever the input: 10,000 a pass). Exact text equality, so the answer is the hash a
 * fresh call gives. Bounded by the characters it keeps: past the bound it starts over.
 */
export class LastTerms {
  private readonly byMarket = new Map<string, { input: string; hash: string }>();
  private chars = 0;

  constructor(private readonly maxChars = LAST_TERMS_MAX_CHARS) {}

  hash(market: string, input: string): string {
    const last = this.byMarket.get(market);
    if (last !== undefined && last.input === input) return last.hash;
    const hash = createHash("sha256").update(input).digest("hex");
    if (last !== undefined) this.chars -= last.input.length;
    if (this.chars + input.length > this.maxChars) {
      this.byMarket.clear();
      this.chars = 0;
    }
    this.byMarket.set(market, { input, hash });
    this.chars += input.length;
    return hash;
  }

  /** Markets and characters kept (for tests). */
  get size(): { markets: number; chars: number } {
    return { markets: this.byMarket.size, chars: this.chars };
  }
}

const lastTerms = new LastTerms();

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
