import type { PairLeg } from "@paulp/contracts";
import type { StoredMarketRow } from "@paulp/venue-decode";
import { settlementFields, TERMS_VERSION } from "./terms";

const STOP = new Set([
  "will",
  "the",
  "be",
  "in",
  "of",
  "a",
  "an",
  "for",
  "by",
  "on",
  "at",
  "to",
  "or",
  "and",
  "is",
  "than",
  "this",
  "market",
]);

/** Lower-case word and number tokens of a title, without stop words. */
export function titleTokens(title: string): Set<string> {
  const out = new Set<string>();
  for (const t of title.toLowerCase().match(/[a-z0-9]+(?:\.[0-9]+)?/g) ?? []) if (!STOP.has(t)) out.add(t);
  return out;
}

function jaccard(a: Set<string>, b: Set<string>): number {
  let inter = 0;
  for (const t of a) if (b.has(t)) inter++;
  const union = a.size + b.size - inter;
  return union === 0 ? 0 : inter / union;
}

const DAY = 86_400_000;

/** Close-time proximity as a weight: same week counts fully, further apart less. */
function closeWeight(a: string | null, b: string | null): number {
  if (!a || !b) return 0.6;
  const d = Math.abs(Date.parse(a) - Date.parse(b));
  return d <= 7 * DAY ? 1 : d <= 62 * DAY ? 0.85 : 0.5;
}

/** A stored row with the terms hash of the current scheme, computed from its stored fields. */
export type HashedMarketRow = StoredMarketRow & { termsHash: string };

/** One leg of a candidate, as governance needs it. */
export function toLeg(r: HashedMarketRow): PairLeg {
  return {
    ...settlementFields(r),
    evidenceHash: r.evidenceHash,
    termsHash: r.termsHash,
    termsVersion: TERMS_VERSION,
    ...(r.venue === "polymarket" ? { outcomeTokens: r.outcomeTokens } : {}),
  };
}

/** What matching reads of a market: its id, title and close time. */
export type MatchRow = Pick<StoredMarketRow, "marketId" | "title" | "closeTime">;

/** Two markets whose titles (and close times) look alike, with how much. */
export interface TextMatch<R extends MatchRow> {
  kalshi: R;
  polymarket: R;
  similarity: number;
}

/**
 * Text candidates only (title tokens and close-time proximity): text similarity is not settlement
 * equivalence, so governance decides with the rules, resolution source and a person.
 */
export function matchCandidates<R extends MatchRow>(
  kalshi: R[],
  poly: R[],
  opts: { threshold?: number; perMarket?: number; maxCandidates?: number } = {},
): TextMatch<R>[] {
  const threshold = opts.threshold ?? 0.5;
  const perMarket = opts.perMarket ?? 3;
  const polyTokens = poly.map((p) => titleTokens(p.title));
  const index = new Map<string, number[]>();
  polyTokens.forEach((tokens, j) => {
    for (const t of tokens) {
      const list = index.get(t) ?? [];
      list.push(j);
      index.set(t, list);
    }
  });
  // Tokens shared by a large share of markets say nothing about a match.
  const common = Math.max(50, Math.floor(poly.length / 20));
  const out: TextMatch<R>[] = [];
  for (const k of kalshi) {
    const kt = titleTokens(k.title);
    const seen = new Set<number>();
    for (const t of kt) {
      const list = index.get(t);
      if (!list || list.length > common) continue;
      for (const j of list) seen.add(j);
    }
    const scored = [...seen]
      .map((j) => ({ j, score: jaccard(kt, polyTokens[j]!) * closeWeight(k.closeTime, poly[j]!.closeTime) }))
      .filter((s) => s.score >= threshold)
      .sort((a, b) => b.score - a.score)
      .slice(0, perMarket);
    for (const s of scored)
      out.push({ kalshi: k, polymarket: poly[s.j]!, similarity: Math.round(s.score * 1000) / 1000 });
  }
  out.sort((a, b) => b.similarity - a.similarity);
  return out.slice(0, opts.maxCandidates ?? 500);
}
