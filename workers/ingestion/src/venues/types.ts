import type { BookLevel, MarketRecord } from "@paulp/contracts";

/** A normalised market row as stored (before the evidence and terms hashes are attached). */
export type MarketRow = Omit<MarketRecord, "evidenceHash" | "termsHash" | "fetchedAt" | "ageSeconds">;

/** A stored row: every parsed row carries the hash of the evidence it came from. */
export interface StoredMarketRow extends MarketRow {
  evidenceHash: string;
  termsHash: string;
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
  /** Markets the venue listed that we do not ingest (e.g. non-binary), counted, not errors. */
  skipped: number;
  /** Each market skipped and why, when the venue's parser names them (audited as `ingestion.markets_skipped`). */
  skips?: MarketSkip[];
  /** Markets we cannot represent (a field we need missing or malformed): skipped, counted and audited. */
  unrepresentable?: { marketId: string | null; reason: string }[];
}

/** A listed market that is not ingested, and why. */
export interface MarketSkip {
  /** The venue's own id of the market, as listed (truncated). */
  id: string;
  /**
   * `not_yes_no`: a two-sided market whose sides are not YES/NO (listed, not ingested by design). Every other
   * reason is data we cannot represent, counted as `market_skipped` in the run's errors: `schema` (a field of the
   * wrong type), `no_question`, `no_condition_id`, `bad_condition_id`, `no_outcomes`, `no_tokens`,
   * `bad_end_date`, `too_long`.
   */
  reason:
    | "not_yes_no"
    | "schema"
    | "no_question"
    | "no_condition_id"
    | "bad_condition_id"
    | "no_outcomes"
    | "no_tokens"
    | "bad_end_date"
    | "too_long";
  detail?: string;
}

/** Why a parse failed. */
export interface ParseFailure {
  kind: "malformed_json" | "schema";
  detail: string;
}
