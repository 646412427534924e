import type { BookLevel, MarketRecord } from "@paulp/contracts";

/** A normalised market row as stored (before the evidence hash is attached). */
export type MarketRow = Omit<MarketRecord, "evidenceHash" | "termsHash" | "fetchedAt" | "ageSeconds">;

/**
 * A stored row: every parsed row carries the hash of the evidence it came from. Its terms hash is not stored: it is
 * computed from the stored fields when read.
 */
export interface StoredMarketRow extends MarketRow {
  evidenceHash: string;
  fetchedAt: string;
}

/** A YES-view book, best level first on each side. */
export interface YesBook {
  bids: BookLevel[];
  asks: BookLevel[];
}

/** One parsed page of a venue's market list. */
export interface MarketPage {
  rows: MarketRow[];
  /** Where the next page starts; null when this was the last page. */
  next: string | null;
  /**
   * Every market the venue listed that is not in `rows`, and why: audited once per page as
   * `ingestion.markets_skipped`; those we cannot represent are also counted as `market_unrepresentable`. None of
   * them stops the page, its cursor or the pass.
   */
  skips: MarketSkip[];
}

/** Markets listed but not ingested by design: not data we failed to read, so not counted as errors. */
export const SKIPPED_BY_DESIGN: ReadonlySet<MarketSkip["reason"]> = new Set(["not_yes_no", "scalar"]);

/** A listed market that is not ingested, and why. */
export interface MarketSkip {
  /** The venue's own id of the market (Kalshi ticker, gamma id), as listed (truncated; "?" when it has none). */
  id: string;
  /**
   * By design (SKIPPED_BY_DESIGN): `not_yes_no`, a Polymarket market whose two sides are not YES/NO; `scalar`, a
   * Kalshi scalar market (Paul P trades binary contracts). Every other reason is data we cannot represent,
   * counted as `market_unrepresentable` in the run's errors: `schema` (a field missing or of the wrong type, with
   * valibot's issue as the detail; both venues), and for Polymarket `no_question`, `no_condition_id`,
   * `bad_condition_id`, `no_outcomes`, `no_tokens`, `bad_end_date`, `too_long`; for Kalshi `no_title` (no title
   * of its own and its event unknown).
   */
  reason:
    | "not_yes_no"
    | "scalar"
    | "schema"
    | "no_question"
    | "no_condition_id"
    | "bad_condition_id"
    | "no_outcomes"
    | "no_tokens"
    | "bad_end_date"
    | "too_long"
    | "no_title";
  detail?: string;
}

/** Why a parse failed. */
export interface ParseFailure {
  kind: "malformed_json" | "schema";
  detail: string;
}
