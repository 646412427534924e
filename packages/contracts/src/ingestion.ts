import type { HealthReport, Result, Venue } from "./common";

/** A stored market, with the evidence it came from. */
export interface MarketRecord {
  venue: Extract<Venue, "kalshi" | "polymarket">;
  /** Kalshi ticker, or Polymarket condition id. */
  marketId: string;
  eventId: string | null;
  seriesId: string | null;
  title: string;
  category: string | null;
  status: string;
  closeTime: string | null;
  rules: string | null;
  resolutionSource: string | null;
  /** Decimal strings in dollars. */
  yesBid: string | null;
  yesAsk: string | null;
  lastPrice: string | null;
  /** For Polymarket: the YES and NO CLOB token ids. */
  outcomeTokens: string[] | null;
  evidenceHash: string;
  /** SHA-256 of the canonical rules/resolution terms; changes when the contract's terms change. */
  termsHash: string;
  fetchedAt: string;
  ageSeconds: number;
}

/** One price level. */
export interface BookLevel {
  price: string;
  size: string;
}

/** The latest stored order book of a market (YES side view: bids and asks for YES). */
export interface OrderBookSnapshot {
  venue: Extract<Venue, "kalshi" | "polymarket">;
  marketId: string;
  bids: BookLevel[];
  asks: BookLevel[];
  evidenceHash: string;
  fetchedAt: string;
  ageSeconds: number;
}

/** A mark price with its provenance. */
export interface MarkPrice {
  venue: Extract<Venue, "kalshi" | "polymarket">;
  marketId: string;
  price: string;
  evidenceHash: string;
  observedAt: string;
  ageSeconds: number;
}

/** Query for `listMarkets`. */
export interface MarketQuery {
  venue?: "kalshi" | "polymarket";
  status?: string;
  limit?: number;
  cursor?: string;
}

/** RPC surface of the `ingestion` worker. */
export interface IngestionRpc {
  health(): Promise<HealthReport>;
  listMarkets(query: MarketQuery): Promise<Result<{ markets: MarketRecord[]; cursor: string | null }>>;
  getMarket(venue: "kalshi" | "polymarket", marketId: string): Promise<Result<MarketRecord>>;
  /** Fetches a fresh book through evidence storage when the stored one is older than `maxAgeSeconds`. */
  getOrderBook(
    venue: "kalshi" | "polymarket",
    marketId: string,
    maxAgeSeconds?: number,
  ): Promise<Result<OrderBookSnapshot>>;
  getMark(venue: "kalshi" | "polymarket", marketId: string): Promise<Result<MarkPrice>>;
  /** The raw evidence bytes, re-hashed on read; a mismatch is an `integrity_broken` error. */
  getEvidence(hash: string): Promise<Result<{ bytes: Uint8Array; contentType: string; venue: string; url: string }>>;
}
