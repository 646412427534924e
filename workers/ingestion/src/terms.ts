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

/**
 * `canonicalHash(TERMS_DOMAIN, terms)`, computed synchronously: a per-row async digest dominated reading a
 * universe. The object has fixed keys with string, null or string-array members, so its RFC 8785 form is the sorted keys
 * with JSON.stringify'd values; a lone surrogate takes the general (validating) path, which refuses it.
 */
export async function termsHash(t: Terms): Promise<string> {
  return termsHashSync(t) ?? canonicalHash(TERMS_DOMAIN, termsOf(t));
}

/** The terms hash without awaiting, or null when a field holds a lone surrogate (then only `termsHash` answers). */
export function termsHashSync(t: Terms): string | null {
  return lastTerms.hash(t);
}

/** Most characters of terms text the isolate keeps to compare against (a few tens of MB of a Worker's 128 MB). */
export const LAST_TERMS_MAX_CHARS = 16_000_000;

/**
 * The last terms hashed for each market in this isolate, with their SHA-256. The hash is computed when a market is
 * read (pair proposals read every active market each time they run; `getMarket` and the lists), not when it is
 * written: a market read again with the same terms is answered by comparing its fields with the last ones, without
 * building the canonical text or another native hash call (~8 µs each in workerd whatever the input). Exact equality
 * of every field, so the answer is the hash a fresh call gives. Bounded by the characters it keeps: past the bound it
 * starts over.
 */
export class LastTerms {
  private readonly byVenue = new Map<string, Map<string, { terms: Terms; hash: string; chars: number }>>();
  private chars = 0;
  private markets = 0;

  constructor(private readonly maxChars = LAST_TERMS_MAX_CHARS) {}

  /** The terms hash, or null when a field holds a lone surrogate (not representable in RFC 8785). */
  hash(t: Terms): string | null {
    let byMarket = this.byVenue.get(t.venue);
    const last = byMarket?.get(t.marketId);
    if (last !== undefined && sameTerms(last.terms, t)) return last.hash;
    const canonical = canonicalTerms(t);
    // JSON.stringify writes a lone surrogate as a `\udXXX` escape and leaves a well-formed pair as it is, which is
    // RFC 8785's form too; any `\ud` in the text (a lone surrogate, or a backslash before "ud" in the text itself)
    // goes the general way, which refuses the one and hashes the other the same.
    if (canonical.includes("\\ud")) return null;
    const hash = createHash("sha256").update(`${TERMS_DOMAIN}\n${canonical}`).digest("hex");
    const chars = canonical.length;
    if (last !== undefined) {
      this.chars -= last.chars;
      this.markets--;
    }
    if (this.chars + chars > this.maxChars) {
      this.byVenue.clear();
      this.chars = 0;
      this.markets = 0;
      byMarket = undefined;
    }
    if (byMarket === undefined) {
      byMarket = new Map();
      this.byVenue.set(t.venue, byMarket);
    }
    // A copy of the terms alone: the caller's object (a whole market row) is not kept alive by the memo.
    const terms: Terms = {
      venue: t.venue,
      marketId: t.marketId,
      title: t.title,
      rules: t.rules,
      resolutionSource: t.resolutionSource,
      closeTime: t.closeTime,
      outcomeTokens: t.outcomeTokens === null ? null : [...t.outcomeTokens],
    };
    byMarket.set(t.marketId, { terms, hash, chars });
    this.chars += chars;
    this.markets++;
    return hash;
  }

  /** Markets and characters kept (for tests). */
  get size(): { markets: number; chars: number } {
    return { markets: this.markets, chars: this.chars };
  }
}

/** The terms' RFC 8785 text for well-formed strings (the keys in code-unit order). */
function canonicalTerms(t: Terms): string {
  return `{"closeTime":${JSON.stringify(t.closeTime)},"marketId":${JSON.stringify(t.marketId)},"outcomeTokens":${JSON.stringify(t.outcomeTokens)},"resolutionSource":${JSON.stringify(t.resolutionSource)},"rules":${JSON.stringify(t.rules)},"title":${JSON.stringify(t.title)},"venue":${JSON.stringify(t.venue)}}`;
}

function sameTerms(a: Terms, b: Terms): boolean {
  if (
    a.rules !== b.rules ||
    a.title !== b.title ||
    a.closeTime !== b.closeTime ||
    a.resolutionSource !== b.resolutionSource ||
    a.marketId !== b.marketId ||
    a.venue !== b.venue
  )
    return false;
  const x = a.outcomeTokens;
  const y = b.outcomeTokens;
  if (x === null || y === null) return x === y;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

const lastTerms = new LastTerms();

/** The terms' strings are all well-formed UTF-16 (no lone surrogate): only such terms have an RFC 8785 form. */
export function termsWellFormed(t: Terms): boolean {
  if (!t.venue.isWellFormed() || !t.marketId.isWellFormed()) return false;
  for (const s of [t.title, t.rules, t.resolutionSource, t.closeTime])
    if (s !== null && !s.isWellFormed()) return false;
  if (t.outcomeTokens !== null) for (const s of t.outcomeTokens) if (!s.isWellFormed()) return false;
  return true;
}

/**
 * A 64-bit fingerprint of the terms (16 hex digits), for noticing that they changed: not their hash. It takes the
 * number of outcome tokens (or that there is no list), then every field in `Terms` order and each token, each string
 * announced by a symbol no UTF-16 code unit can be (0x10001 + its length; 0x10000 for null), so two different term
 * sets never feed it the same symbols. Two 32-bit multiply-xor lanes with a final avalanche (bryc's public-domain
 * cyrb53 widened to 64 bits), in locals (a closure over the lanes made each step a heap access, several times slower):
 * ~2.5 µs a market (workerd), where a SHA-256 call costs ~8 µs whatever the API and a cold pass hashed every market.
 * Not cryptographic: a change crafted to collide would go unnoticed only until the row's next change of any other
 * stored column (its prices move every few minutes), and nothing trusts this value but the write skip; the terms hash a
 * pair is reviewed against is always SHA-256 over the stored fields, computed when read (`termsHashSync`).
 */
export function termsFingerprint(t: Terms): string {
  const tokens = t.outcomeTokens;
  const strings: (string | null)[] = [t.venue, t.marketId, t.title, t.rules, t.resolutionSource, t.closeTime];
  if (tokens !== null) for (const token of tokens) strings.push(token);
  const list = tokens === null ? 0x10000 : 0x10001 + tokens.length;
  let h1 = Math.imul(0xdeadbeef ^ list, 2654435761);
  let h2 = Math.imul(0x41c6ce57 ^ list, 1597334677);
  for (const s of strings) {
    const symbol = s === null ? 0x10000 : 0x10001 + s.length;
    h1 = Math.imul(h1 ^ symbol, 2654435761);
    h2 = Math.imul(h2 ^ symbol, 1597334677);
    if (s === null) continue;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, "0") + (h1 >>> 0).toString(16).padStart(8, "0");
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
