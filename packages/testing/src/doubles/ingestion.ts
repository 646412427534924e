// Ingestion's double: books, terms, pre-trade verdicts and missing evidence as a test sets them; the fast path's
// refreshes answer from what they are given.
import type {
  ComplianceVerdict,
  IngestionRpc,
  MarketRecord,
  MarkRefresh,
  OrderBookSnapshot,
  PreTradeCheck,
  RawVenueAnswer,
  Result,
  TradedMarket,
  Venue,
} from "@paulp/contracts";
import { doubleOf, err, Ledger, ok } from "./ledger";

type BookVenue = "kalshi" | "polymarket";
/** A book as a test plants it: its levels and evidence (venue, market and times are the double's). */
export type PlantedBook = Pick<OrderBookSnapshot, "bids" | "asks" | "evidenceHash">;

export interface IngestionDoubleState {
  /** By `venue:market`; a market with a book exists. */
  books: Map<string, PlantedBook>;
  /** Terms hashes by `venue:market` (default "e"…, the one pairLeg() reviews). */
  terms: Map<string, string>;
  /** Pre-trade verdicts by `venue:market` (default allow). */
  verdicts: Map<string, ComplianceVerdict>;
  /** Evidence hashes preTradeCheck reports missing. */
  missing: string[];
  /** preTradeCheck answers `service_unavailable`. */
  preTradeDown: boolean;
}

const fresh = (): IngestionDoubleState => ({
  books: new Map(),
  terms: new Map(),
  verdicts: new Map(),
  missing: [],
  preTradeDown: false,
});
const ledger = new Ledger(fresh);
const key = (venue: string, marketId: string) => `${venue}:${marketId}`;

type Doubled = Pick<
  IngestionRpc,
  "health" | "getOrderBook" | "getMarket" | "preTradeCheck" | "refreshMarks" | "ingestIbkrSnapshot"
>;

export default class IngestionDouble extends doubleOf("ingestion", ledger) implements Doubled {
  async getOrderBook(venue: BookVenue, marketId: string): Promise<Result<OrderBookSnapshot>> {
    ledger.record("getOrderBook", { venue, marketId });
    const b = ledger.state.books.get(key(venue, marketId));
    return b
      ? ok({ venue, marketId, fetchedAt: new Date().toISOString(), ageSeconds: 1, ...b })
      : err("not_found", `no book ${key(venue, marketId)}`);
  }
  /** A market whose book is set exists; its terms hash is the one pairLeg() reviews ("e"…) unless changed. */
  async getMarket(venue: BookVenue, marketId: string): Promise<Result<MarketRecord>> {
    ledger.record("getMarket", { venue, marketId });
    const s = ledger.state;
    const book = s.books.get(key(venue, marketId));
    if (!book) return err("not_found", `no market ${key(venue, marketId)}`);
    return ok({
      venue,
      marketId,
      eventId: null,
      seriesId: null,
      title: marketId,
      category: null,
      status: "open",
      closeTime: null,
      rules: null,
      resolutionSource: null,
      yesBid: null,
      yesAsk: null,
      lastPrice: null,
      outcomeTokens: null,
      evidenceHash: book.evidenceHash,
      termsHash: s.terms.get(key(venue, marketId)) ?? "e".repeat(64),
      fetchedAt: new Date().toISOString(),
      ageSeconds: 1,
    });
  }
  async preTradeCheck(
    venue: Venue,
    marketId: string,
    evidenceHashes: string[],
  ): Promise<Result<PreTradeCheck>> {
    ledger.record("preTradeCheck", { venue, marketId, evidenceHashes });
    const s = ledger.state;
    if (s.preTradeDown)
      return err("service_unavailable", "ingestion double told to fail the pre-trade check");
    return ok({
      compliance: s.verdicts.get(key(venue, marketId)) ?? { verdict: "allow" },
      rulesVersion: 1,
      missingEvidence: evidenceHashes.filter((h) => s.missing.includes(h)),
    });
  }
  /** The fast path's data side: every market is refreshed. */
  async refreshMarks(markets: TradedMarket[]): Promise<Result<MarkRefresh>> {
    ledger.record("refreshMarks", { markets });
    return ok({ refreshed: markets.map((m) => key(m.venue, m.market)), errors: {} });
  }
  /** An IBKR instrument is refreshed only when the snapshot has its bid (field 84). */
  async ingestIbkrSnapshot(
    answer: RawVenueAnswer,
    instruments: TradedMarket[],
  ): Promise<Result<MarkRefresh>> {
    const rows = JSON.parse(new TextDecoder().decode(answer.bytes)) as Record<string, unknown>[];
    ledger.record("ingestIbkrSnapshot", { url: answer.url, rows, instruments });
    const priced = instruments.filter((m) =>
      rows.some((r) => String(r.conid) === m.market && r["84"] !== undefined),
    );
    return ok<MarkRefresh>({
      refreshed: priced.map((m) => `ibkr:${m.market}`),
      errors: priced.length < instruments.length ? { no_price: instruments.length - priced.length } : {},
    });
  }

  // ---- test controls beyond the shared ones ----
  async _setBook(venue: BookVenue, marketId: string, book: PlantedBook): Promise<void> {
    ledger.state.books.set(key(venue, marketId), book);
  }
  async _setTerms(venue: BookVenue, marketId: string, termsHash: string): Promise<void> {
    ledger.state.terms.set(key(venue, marketId), termsHash);
  }
  /** A verdict for one market; null puts back the default (allow). */
  async _setVerdict(venue: Venue, marketId: string, verdict: ComplianceVerdict | null): Promise<void> {
    if (verdict) ledger.state.verdicts.set(key(venue, marketId), verdict);
    else ledger.state.verdicts.delete(key(venue, marketId));
  }
}
