// Ingestion's contract: the markets, books and marks it serves, its runs and status, the fast path's reads, and
// its RPC interface (the evidence it serves is in evidence.ts, the compliance rules in compliance-rules.ts).
import * as v from "valibot";
import { type HealthReport, type Principal, type Result, Venue } from "./common";
import type { ComplianceRuleSet, ComplianceRulesView, PreTradeCheck } from "./compliance-rules";
import type { HistoryRecordReport, HistoryRecordRequest } from "./dev-history";
import type { EvidenceObjects, EvidenceQuery, EvidenceRecord, FetchLogPage, FetchLogQuery } from "./evidence";
import { IntIn, NonEmptyText, Text } from "./fields";
import type { ReplayRecord, ReplayReport, ReplayStart } from "./replay";
import { MarketCategory, MarketId } from "./risk";

/** The two venues ingestion reads market data from. */
export const MarketVenue = v.picklist(["kalshi", "polymarket"]);
/** A venue ingestion reads. */
export type MarketVenue = v.InferOutput<typeof MarketVenue>;

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
  /** The market's mark (what risk sizes against), when one is stored: `listMarkets` joins it in. */
  mark?: { price: string; evidenceHash: string; observedAt: string; ageSeconds: number } | null;
  /**
   * The last snapshot that listed the market (`getMarket`): a row is rewritten only when its content changes
   * (`evidenceHash`/`fetchedAt` name that snapshot), while every page that lists it unchanged records the sighting.
   */
  lastSeen?: { at: string; evidenceHash: string } | null;
}

/** One price level. */
export interface BookLevel {
  price: string;
  size: string;
}

/** The latest stored order book of a market (YES side view: bids and asks for YES, best first). */
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
export const MarketQuery = v.object({
  venue: v.optional(MarketVenue),
  status: v.optional(Text(32)),
  /** Case-insensitive substring of the title or the market id. */
  search: v.optional(NonEmptyText(100)),
  /** Exact category (case-insensitive). */
  category: v.optional(MarketCategory),
  limit: v.optional(IntIn(1, 1000)),
  cursor: v.optional(Text(512)),
});
/** Query for `listMarkets`. */
export type MarketQuery = v.InferOutput<typeof MarketQuery>;

/** Options of a manual or scheduled run. */
export const IngestionRunRequest = v.object({
  venues: v.optional(v.pipe(v.array(MarketVenue), v.minLength(1))),
  /** Pages per venue in this run (default 5). */
  maxPages: v.optional(IntIn(1, 20)),
  /** Markets per page (default: Kalshi 1000, Polymarket 500). */
  pageSize: v.optional(IntIn(1, 1000)),
});
/** Options of a run. */
export type IngestionRunRequest = v.InferOutput<typeof IngestionRunRequest>;

/** What one run did for one venue. */
export interface VenueRunReport {
  venue: MarketVenue;
  startedAt: string;
  finishedAt: string;
  /** `busy`: another run held this venue's lease, so this one fetched and wrote nothing. */
  outcome: "ok" | "partial" | "failed" | "busy";
  pages: number;
  fetched: number;
  stored: number;
  rejected: number;
  blocked: number;
  /** Error counts by kind, e.g. `http_429`, `schema`, `evidence_write`, `gate_error`. */
  errors: Record<string, number>;
  passCompleted: boolean;
  /**
   * Of the `stored` markets (listed and allowed), those whose row was rewritten because their content changed (the
   * rest were recorded as seen in their page's snapshot), and the marks sent to risk (changed, or ageing).
   */
  changed?: number;
  marksSent?: number;
  /** `full`: a page of the full pass (the periodic check); `incremental`: Kalshi's `min_updated_ts` crawl. */
  mode?: "full" | "incremental";
}

/** What `GET /admin/ingestion/status` shows. */
export interface IngestionStatus {
  venues: Record<
    MarketVenue,
    {
      lastRun: VenueRunReport | null;
      consecutiveFailures: number;
      lastOkAt: string | null;
      passesCompleted: number;
      cursor: string | null;
      storedMarkets: number;
      /** Error counts by kind over the last 50 runs. */
      errorsRecent: Record<string, number>;
    }
  >;
  evidenceCount: number;
  rejectedEvidence: number;
  rulesVersion: number;
  /** The evidence index audit: every object in the evidence bucket has its D1 record (docs/ingestion.md). */
  evidenceIndex: EvidenceIndexAuditStatus;
}

/** Keys of unvouched objects one step names (the rest are counted). */
export const MAX_UNVOUCHED_LISTED = 20;

/** What one step of the evidence index audit did: one page of the evidence bucket checked against the D1 records. */
export interface EvidenceIndexStep {
  /** Objects of the bucket the step looked at. */
  checked: number;
  /** Objects with bytes but no record, recorded now from their own metadata after their bytes re-hashed to their name. */
  recorded: number;
  /** Unrecorded objects younger than the grace (their record may still be on its way): left for a later pass. */
  young: number;
  /**
   * Unrecorded objects the step could not settle (a read, the audit or the record failed) or left untouched past its
   * bound on records (ingestion's INDEX_AUDIT_MAX_RECORDS, D1's queries an invocation): their page is taken again.
   */
  deferred: number;
  /**
   * Objects that cannot be vouched for (bytes that do not hash to their name, a name that is no content hash, or no
   * evidence metadata): audited as `ingestion.evidence_unvouched`, never recorded. At most MAX_UNVOUCHED_LISTED keys.
   */
  unvouched: string[];
  /** The step reached the end of the bucket: the next one starts from its beginning. */
  passCompleted: boolean;
}

/** Where the evidence index audit stands. */
export interface EvidenceIndexAuditStatus {
  /** Complete walks of the bucket. */
  passesCompleted: number;
  /** A walk is under way (its cursor is kept between steps). */
  midPass: boolean;
  /** Objects recorded by the audit since it began, and objects it found it cannot vouch for (each time it met them). */
  recordedTotal: number;
  unvouchedTotal: number;
  /** Unvouched objects met by the walk under way, and by the last complete walk (0 once a whole walk meets none). */
  unvouchedThisWalk: number;
  unvouchedLastWalk: number;
  lastStepAt: string | null;
  lastStep: EvidenceIndexStep | null;
}

/**
 * A market a live or paper strategy can trade, which the fast path keeps fresh: a leg of a tradable pair, a
 * market holding an open position, or an IBKR hedge instrument (its `market` is the conid). `category` is what
 * risk should file its mark under when ingestion has none of its own (IBKR instruments); null when unknown.
 */
export const TradedMarket = v.object({
  venue: Venue,
  market: MarketId,
  why: v.picklist(["pair_leg", "position", "hedge"]),
  category: v.nullable(MarketCategory),
});
/** A market a live or paper strategy can trade. */
export type TradedMarket = v.InferOutput<typeof TradedMarket>;

/** The most markets one `refreshMarks` call takes. */
export const MAX_FAST_REFRESH = 100;

/** A venue's answer passed on unparsed (status, type and bytes as received) for evidence capture. */
export const RawVenueAnswer = v.object({
  url: v.pipe(v.string(), v.url(), v.maxLength(2048)),
  status: IntIn(100, 599),
  contentType: Text(256),
  bytes: v.custom<Uint8Array>(
    (b) => b instanceof Uint8Array && b.byteLength <= 8 * 1024 * 1024,
    "bytes: a Uint8Array of at most 8 MiB",
  ),
});
/** A venue's answer passed on unparsed. */
export type RawVenueAnswer = v.InferOutput<typeof RawVenueAnswer>;

/** What a fast-path refresh did: the markets whose marks risk now holds fresh (`venue:market`), errors by kind. */
export interface MarkRefresh {
  refreshed: string[];
  /** e.g. `rate_limited`, `unknown_market`, `compliance_blocked`, `no_price`, `risk_marks_failed`. */
  errors: Record<string, number>;
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
  /** Evidence metadata, newest first (paged by `cursor`). */
  listEvidence(query: EvidenceQuery): Promise<Result<{ evidence: EvidenceRecord[]; cursor: string | null }>>;
  /**
   * The raw evidence bytes, re-hashed on read; a mismatch is an `integrity_broken` error. `url` is the first
   * request that returned them; `sightings`, every request that did (identical bytes, e.g. empty books of two
   * tickers, are stored once), most recent first.
   */
  getEvidence(hash: string): Promise<
    Result<{
      bytes: Uint8Array;
      contentType: string;
      venue: string;
      url: string;
      sightings: { url: string; status: number; firstSeenAt: string; lastSeenAt: string }[];
    }>
  >;
  /**
   * The fetch log of a window, in fetch order (time of the fetch, ties in the order logged), paged by `cursor`: every
   * fetch, even of bytes fetched before (A, B, A, B, A is five fetches of two objects). For the replay and the
   * evidence export; the log keeps FETCH_LOG_RETENTION_DAYS (default 34: the longest citable replay) of fetches.
   */
  listFetches(query: FetchLogQuery): Promise<Result<FetchLogPage>>;
  /**
   * The raw bytes of several evidence objects at once, each re-hashed on read (for the evidence export): in the
   * order asked, bounded by `MAX_EVIDENCE_BATCH_BYTES` (the rest come back in `remaining`). A hash with no stored
   * bytes is `not_found`, bytes that no longer hash to their name `integrity_broken`, each naming the object.
   */
  getEvidenceObjects(hashes: string[]): Promise<Result<EvidenceObjects>>;
  /**
   * One step of the evidence index audit now (the cron takes one after each run): the next page of the evidence
   * bucket, each object without a D1 record recorded from its metadata once its bytes re-hash to its name.
   */
  auditEvidenceIndex(actor: Principal): Promise<Result<EvidenceIndexStep>>;
  /** Run an ingestion pass now (the cron does the same every two minutes). */
  runNow(request: IngestionRunRequest, actor: Principal): Promise<Result<VenueRunReport[]>>;
  /** Last run per venue, counts and errors by kind. */
  status(): Promise<Result<IngestionStatus>>;
  /**
   * Execution's fast path: read these stored Kalshi / Polymarket markets' books now (through evidence and the
   * gate in force) and push their marks to risk. At most `MAX_FAST_REFRESH` markets a call.
   */
  refreshMarks(markets: TradedMarket[]): Promise<Result<MarkRefresh>>;
  /**
   * Execution's fast path: an IBKR snapshot answer execution read through its gateway session, unparsed. Kept as
   * evidence first, then parsed, gated, and its instruments' marks pushed to risk.
   */
  ingestIbkrSnapshot(answer: RawVenueAnswer, instruments: TradedMarket[]): Promise<Result<MarkRefresh>>;
  getComplianceRules(): Promise<Result<ComplianceRulesView>>;
  /** Replace the rule set; audited with `actor` before it applies (fail closed). */
  putComplianceRules(ruleSet: ComplianceRuleSet, actor: Principal): Promise<Result<ComplianceRulesView>>;
  /**
   * What execution checks for every order, at decision time: the market under the rules in force now, and
   * which of the evidence hashes the order cites are not stored.
   */
  preTradeCheck(venue: Venue, marketId: string, evidenceHashes: string[]): Promise<Result<PreTradeCheck>>;
  /**
   * Replay a strategy over the evidence fetched in a window (#18): audited first (fail closed), then run in bounded
   * steps by its own Durable Object; answers the record at once (status `running`).
   */
  startReplay(request: ReplayStart, actor: Principal): Promise<Result<ReplayRecord>>;
  /** One replay's record (`not_found` when no replay has the id). */
  getReplay(replayId: string): Promise<Result<ReplayRecord>>;
  /** A complete replay's report, exactly as stored and hashed. */
  getReplayReport(replayId: string): Promise<Result<{ report: ReplayReport; reportHash: string }>>;
  /** A strategy's replays, newest first (at most 50). */
  listReplays(strategyId: string): Promise<Result<{ replays: ReplayRecord[] }>>;
  /**
   * Dev only: record the tradable pairs' markets and books over a past window on a simulated clock, from the venue
   * simulator through the fetch path and compliance gate (dev-history.ts). Refused (`forbidden`) unless the dev
   * config enables it and the simulator is bound.
   */
  recordHistory(request: HistoryRecordRequest, actor: Principal): Promise<Result<HistoryRecordReport>>;
}
