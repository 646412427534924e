import * as v from "valibot";
import { type HealthReport, type Principal, type Result, Sha256Hex, Venue } from "./common";
import type { HistoryRecordReport, HistoryRecordRequest } from "./dev-history";
import { FreeText } from "./free-text";
import type { ReplayRecord, ReplayReport, ReplayStart } from "./replay";

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
  status: v.optional(v.pipe(v.string(), v.maxLength(32))),
  /** Case-insensitive substring of the title or the market id. */
  search: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(100))),
  /** Exact category (case-insensitive). */
  category: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(64))),
  limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000))),
  cursor: v.optional(v.pipe(v.string(), v.maxLength(512))),
});
/** Query for `listMarkets`. */
export type MarketQuery = v.InferOutput<typeof MarketQuery>;

/** Query for `listEvidence`: newest first, optionally one venue and a time window (`fetchedAt` in [from, to)). */
export const EvidenceQuery = v.object({
  venue: v.optional(v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_-]{0,31}$/, "a venue name"))),
  from: v.optional(v.pipe(v.string(), v.isoTimestamp())),
  to: v.optional(v.pipe(v.string(), v.isoTimestamp())),
  limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(500))),
  cursor: v.optional(v.pipe(v.string(), v.maxLength(512))),
});
/** Query for `listEvidence`. */
export type EvidenceQuery = v.InferOutput<typeof EvidenceQuery>;

/** Most fetches one `listFetches` page holds. */
export const MAX_FETCH_LOG_PAGE = 1000;

/**
 * Query for `listFetches`: the fetches of the window [from, to) in fetch order, a page at a time (`cursor` is the
 * previous page's). A window that ended a minute ago or more is complete: a fetch is logged within seconds of it.
 */
export const FetchLogQuery = v.pipe(
  v.object({
    from: v.pipe(v.string(), v.isoTimestamp()),
    to: v.pipe(v.string(), v.isoTimestamp()),
    limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_FETCH_LOG_PAGE))),
    cursor: v.optional(v.pipe(v.string(), v.maxLength(512))),
  }),
  v.check((q) => Date.parse(q.from) < Date.parse(q.to), "from must be before to"),
);
/** Query for `listFetches`. */
export type FetchLogQuery = v.InferOutput<typeof FetchLogQuery>;

/**
 * One fetch in ingestion's fetch log: the bytes `hash` names (in evidence) answered `url` with `status` at
 * `fetchedAt`. Identical bytes fetched twice are one evidence object and two fetches. Has every field of replay's
 * `EvidenceSighting`.
 */
export interface EvidenceFetch {
  hash: string;
  venue: Venue;
  url: string;
  status: number;
  fetchedAt: string;
}

/** A page of the fetch log: its fetches in order, the distinct evidence hashes they name, the next page's cursor. */
export interface FetchLogPage {
  fetches: EvidenceFetch[];
  /** Each evidence object this page's fetches name, once, in the order first fetched (the window's: their union). */
  hashes: string[];
  cursor: string | null;
}

/** Most evidence objects one `getEvidenceObjects` call may name. */
export const MAX_EVIDENCE_BATCH = 32;
/**
 * Most bytes one `getEvidenceObjects` answer carries: objects are added in the order asked until the next would pass
 * this (the first always fits: ingestion keeps no response over 8 MiB), and the rest are `remaining`.
 */
export const MAX_EVIDENCE_BATCH_BYTES = 16 * 1024 * 1024;

/** What `getEvidenceObjects` takes: 1 to `MAX_EVIDENCE_BATCH` evidence hashes. */
export const EvidenceObjectsQuery = v.pipe(
  v.array(Sha256Hex),
  v.minLength(1),
  v.maxLength(MAX_EVIDENCE_BATCH),
);

/** Raw evidence bytes by hash, each re-hashed by ingestion; `remaining`: asked for, left for the next call. */
export interface EvidenceObjects {
  objects: { hash: string; bytes: Uint8Array }[];
  remaining: string[];
}

/** One stored piece of evidence, without its bytes (`GET /admin/evidence/:hash` serves those). */
export interface EvidenceRecord {
  hash: string;
  venue: string;
  url: string;
  status: number;
  size: number;
  contentType: string;
  fetchedAt: string;
  lastSeenAt: string;
  /** `pending` until parsed, then `accepted` or `rejected` (with `rejectReason`). */
  parseStatus: string;
  rejectReason: string | null;
}

/**
 * What a rule set may hold, so that any accepted set evaluates in bounded time (docs/ingestion.md states the
 * bound): every market is checked against every rule, on every page and every read.
 */
export const COMPLIANCE_LIMITS = {
  /** Rules in a set. Venue and category rules are one comparison each. */
  rules: 500,
  /** Keyword rules: each one searches the market's title and rules text. */
  keywordRules: 50,
  /** Pattern rules: each one matches three ids (≤ 128 characters) segment by segment. */
  patternRules: 100,
  /** Characters in a pattern. */
  patternLength: 64,
  /** `*` in a pattern (a run of `*` counts once): at most this many + 1 literal segments to find in order. */
  patternStars: 8,
} as const;

/** The `*` wildcards of a glob, a run of them counting once (`a**b` has one). */
export function starCount(glob: string): number {
  return glob.match(/\*+/g)?.length ?? 0;
}

/**
 * The first way a rule set exceeds `COMPLIANCE_LIMITS`, naming the rule, or null. Checked when a set is stored
 * and again by the gate when it loads one (a set stored before a limit existed then denies, fail closed).
 */
export function complianceLimitError(
  rules: readonly { id: string; kind: string; value: string }[],
): string | null {
  const L = COMPLIANCE_LIMITS;
  if (rules.length > L.rules) return `at most ${L.rules} rules`;
  const count = (kind: string) => rules.filter((r) => r.kind === kind).length;
  if (count("keyword") > L.keywordRules)
    return `at most ${L.keywordRules} keyword rules (each one searches every market's text)`;
  if (count("pattern") > L.patternRules) return `at most ${L.patternRules} pattern rules`;
  for (const r of rules) {
    if (r.kind !== "pattern") continue;
    if (r.value.length > L.patternLength)
      return `rule ${r.id}: a pattern is at most ${L.patternLength} characters`;
    if (starCount(r.value) > L.patternStars)
      return `rule ${r.id}: a pattern has at most ${L.patternStars} '*' (a run of '*' counts once)`;
  }
  return null;
}

/**
 * One compliance rule. `venue` blocks a whole venue; `category` an exact category (case-insensitive);
 * `pattern` a series/event/ticker glob (`*` any run of characters, case-insensitive); `keyword` a word or
 * phrase found in the title or rules (case-insensitive). `venues` narrows a rule to some venues.
 */
export const ComplianceRule = v.pipe(
  v.object({
    id: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,64}$/, "1–64 of [A-Za-z0-9_.-]")),
    kind: v.picklist(["venue", "category", "pattern", "keyword"]),
    value: FreeText(200, 1),
    // A rule narrowed to no venue would block nothing while reading as in force.
    venues: v.optional(v.pipe(v.array(MarketVenue), v.minLength(1, "venues: name at least one venue"))),
    reason: FreeText(500, 1),
  }),
  // A mistyped venue (`polymarkt`) would block nothing while reading as in force.
  v.check(
    (r) => r.kind !== "venue" || v.is(MarketVenue, r.value),
    "a venue rule's value must be a venue: kalshi or polymarket",
  ),
);
/** One compliance rule. */
export type ComplianceRule = v.InferOutput<typeof ComplianceRule>;

/** The body of `PUT /admin/compliance/rules`: the whole rule set, replacing the current one. */
export const ComplianceRuleSet = v.pipe(
  v.object({
    rules: v.pipe(
      v.array(ComplianceRule),
      v.maxLength(COMPLIANCE_LIMITS.rules, `at most ${COMPLIANCE_LIMITS.rules} rules`),
    ),
    /** Optimistic concurrency: refuse when the stored version differs. */
    expectedVersion: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  }),
  v.check((s) => new Set(s.rules.map((r) => r.id)).size === s.rules.length, "rule ids must be unique"),
  v.check(
    (s) => complianceLimitError(s.rules) === null,
    (issue) => complianceLimitError((issue.input as { rules: ComplianceRule[] }).rules) ?? "over a limit",
  ),
);
/** A replacement rule set. */
export type ComplianceRuleSet = v.InferOutput<typeof ComplianceRuleSet>;

/** The stored rule set with its version and who last changed it. */
export interface ComplianceRulesView {
  version: number;
  rules: ComplianceRule[];
  updatedAt: string | null;
  updatedBy: string | null;
}

/** Options of a manual or scheduled run. */
export const IngestionRunRequest = v.object({
  venues: v.optional(v.pipe(v.array(MarketVenue), v.minLength(1))),
  /** Pages per venue in this run (default 5). */
  maxPages: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(20))),
  /** Markets per page (default: Kalshi 1000, Polymarket 500). */
  pageSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000))),
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
}

/**
 * A market a live or paper strategy can trade, which the fast path keeps fresh: a leg of a tradable pair, a
 * market holding an open position, or an IBKR hedge instrument (its `market` is the conid). `category` is what
 * risk should file its mark under when ingestion has none of its own (IBKR instruments); null when unknown.
 */
export const TradedMarket = v.object({
  venue: Venue,
  market: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  why: v.picklist(["pair_leg", "position", "hedge"]),
  category: v.nullable(v.pipe(v.string(), v.minLength(1), v.maxLength(64))),
});
/** A market a live or paper strategy can trade. */
export type TradedMarket = v.InferOutput<typeof TradedMarket>;

/** The most markets one `refreshMarks` call takes. */
export const MAX_FAST_REFRESH = 100;

/** A venue's answer passed on unparsed (status, type and bytes as received) for evidence capture. */
export const RawVenueAnswer = v.object({
  url: v.pipe(v.string(), v.url(), v.maxLength(2048)),
  status: v.pipe(v.number(), v.integer(), v.minValue(100), v.maxValue(599)),
  contentType: v.pipe(v.string(), v.maxLength(256)),
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

/**
 * The compliance verdict on one market under the rules in force now. `unknown`: the gate cannot decide (rules
 * unavailable), or the market is not stored (never ingested, or removed by a rule: blocked markets are not
 * kept). `not_applicable`: an IBKR instrument, which no rule can name (rules cover ingested markets).
 */
export type ComplianceVerdict =
  | { verdict: "allow" }
  | { verdict: "block"; ruleId: string; reason: string }
  | { verdict: "unknown"; reason: string }
  | { verdict: "not_applicable"; reason: string };

/** What `preTradeCheck` answers. */
export interface PreTradeCheck {
  compliance: ComplianceVerdict;
  rulesVersion: number;
  /** The cited evidence hashes ingestion does not hold, in the order cited. */
  missingEvidence: string[];
}
