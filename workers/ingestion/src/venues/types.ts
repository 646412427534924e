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
}

/** Why a parse failed. */
export interface ParseFailure {
  kind: "malformed_json" | "schema";
  detail: string;
}
