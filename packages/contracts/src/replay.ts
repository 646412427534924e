// Replay (#18): a strategy run over recorded evidence. The report is plain JSON whose hash (SHA-256 of its RFC 8785
// canonical form) anyone can recompute; every input it names is an evidence hash or a value in its manifest.
import * as v from "valibot";
import { type JsonValue, Sha256Hex } from "./common";
import { IntFrom, IntIn, NonEmptyText, Text, Timestamp } from "./fields";

/**
 * One fetch of one evidence object: the bytes `hash` names were the answer to `url` at `fetchedAt`. Identical bytes
 * fetched twice are stored once but sighted twice; a replay consumes sightings, in the order they were fetched.
 */
export const EvidenceSighting = v.object({
  hash: Sha256Hex,
  venue: v.picklist(["kalshi", "polymarket", "ibkr"]),
  url: Text(4096),
  fetchedAt: Timestamp,
  /** The HTTP status the venue answered with (a refusal's bytes are evidence too; a replay reads only 2xx). */
  status: v.optional(IntIn(100, 599)),
});
export type EvidenceSighting = v.InferOutput<typeof EvidenceSighting>;

/** Why a set of evidence cannot be replayed. Each names the object it is about. */
export const ReplayRefusalCode = {
  /** The bytes do not hash to the name they are filed under (one changed byte is enough). */
  hashMismatch: "evidence_hash_mismatch",
  /** A sighting names bytes the evidence set does not hold. */
  missing: "evidence_missing",
  /** A sighting outside the replay's window, or not a valid timestamp. */
  outsideWindow: "evidence_outside_window",
} as const;
export type ReplayRefusalCode = (typeof ReplayRefusalCode)[keyof typeof ReplayRefusalCode];

export interface ReplayRefusal {
  code: ReplayRefusalCode;
  /** The evidence hash the refusal is about. */
  hash: string;
  message: string;
}

/** A point of the equity curve: cash plus positions at their marks, in dollars (4 decimals). */
export interface EquityPoint {
  at: string;
  equity: string;
}

/** Exposure by category at one time: the absolute notional at mark held in each category, in dollars. */
export interface ExposurePoint {
  at: string;
  byCategory: Record<string, string>;
}

/** An order the strategy placed in the replay, with what the fill model gave it. */
export interface ReplayTrade {
  /** When the strategy decided, and when the fill model filled it (decision + latency). */
  decidedAt: string;
  filledAt: string;
  venue: "kalshi" | "polymarket" | "ibkr";
  marketId: string;
  side: "buy" | "sell";
  quantity: number;
  limitPrice: string;
  filled: number;
  avgPrice: string | null;
  fee: string;
  /** The recorded book it filled against. */
  bookEvidenceHash: string;
}

const Count = IntFrom(0);
const Figure = v.pipe(v.string(), v.regex(/^-?\d{1,15}(\.\d{1,8})?$/, "a decimal figure"));
/** The summary as a schema: it travels inside a go-live request's payload, which the desk validates strictly. */
export const ReplaySummarySchema = v.strictObject({
  decisions: Count,
  orders: Count,
  /** Orders that filled at least in part. */
  fills: Count,
  startingEquity: Figure,
  endingEquity: Figure,
  pnl: Figure,
  fees: Figure,
  /** Largest fall from a running peak of the equity curve, in dollars and as a fraction of that peak. */
  maxDrawdown: Figure,
  maxDrawdownFraction: Figure,
  /** Sum of the filled notional, both sides. */
  turnover: Figure,
  /** Risk denials of the strategy's intents, by reason code. */
  denialsByCode: v.record(Text(64), Count),
  /** Share of decisions taken while a leg's book was older than risk's freshness limit. */
  staleDecisionShare: Figure,
  /**
   * When the first and the last sighting replayed were fetched (null: none): the span of evidence a go-live citation
   * counts, not the window asked for. Absent in a report of an engine before replay-engine.3 (such a report cannot be
   * cited).
   */
  evidenceFrom: v.optional(v.nullable(Timestamp)),
  evidenceTo: v.optional(v.nullable(Timestamp)),
  /**
   * The longest time between two consecutive sightings replayed, in whole seconds rounded up (null: no evidence, or
   * not known). A go-live citation refuses a span with a gap longer than its policy allows. Absent in a report of an
   * engine before replay-engine.4 (such a report cannot be cited).
   */
  largestEvidenceGapSeconds: v.optional(v.nullable(Count)),
});

/** The figures a quant reads first. Money in dollars (4 decimals), fractions of 1 (4 decimals). */
export type ReplaySummary = v.InferOutput<typeof ReplaySummarySchema>;

/** A value read from a report's JSON: whatever it holds is JSON already. */
const Json = v.custom<JsonValue>(() => true);

/**
 * A Kalshi leg's category as ingestion held it when the replay started (its series' category, through its event):
 * risk refuses an opening order on a market with no category (NO_CATEGORY) and learns it from ingestion's stored
 * market, which a window rarely re-fetches (an event is looked up once, the series list once a pass). The replay
 * uses it from `since` (when ingestion had both answers) and names the answers that said it.
 */
export const ReplayLegCategory = v.object({
  name: Text(200),
  /** When ingestion first held both answers (ISO 8601): the replay uses the category from then on. */
  since: Timestamp,
  /** The evidence hashes of the event lookup and the series answer that said it. */
  evidence: v.array(Sha256Hex),
});
export type ReplayLegCategory = v.InferOutput<typeof ReplayLegCategory>;

/**
 * Everything a replay consumed, so anyone can rerun it and get the same report. A schema because the offline replay
 * reads it back from a report file (`@paulp/replay`'s offline.ts).
 */
export const ReplayManifest = v.object({
  strategy: v.object({
    id: Text(128),
    kind: Text(64),
    params: v.record(v.string(), Json),
    allocation: Text(32),
  }),
  /** The pairs the signal watched, as governance listed them when the replay started. */
  pairs: v.array(
    v.object({
      pairId: Text(128),
      kalshi: v.object({ marketId: Text(128), category: v.optional(ReplayLegCategory) }),
      polymarket: v.object({ marketId: Text(128), yesToken: Text(128) }),
      yesMapsTo: v.picklist(["YES", "NO"]),
    }),
  ),
  /** The equity the replay's portfolio started with, in dollars. */
  startingEquity: Text(32),
  window: v.object({ from: Timestamp, to: Timestamp }),
  risk: v.object({ limits: Json, limitsVersion: v.pipe(v.number(), v.integer()) }),
  fill: v.object({ latencyMs: Count }),
  /** The replay engine's version: a change to what it computes must change this. */
  engineVersion: Text(64),
  /** The build of the mesh that ran it (the deploy's commit), or "offline". */
  codeVersion: Text(128),
  /** Every evidence object consumed, by hash, sorted; and how many sightings of them were replayed. */
  evidence: v.array(Sha256Hex),
  sightings: Count,
});
export type ReplayManifest = v.InferOutput<typeof ReplayManifest>;

export interface ReplayReport {
  manifest: ReplayManifest;
  summary: ReplaySummary;
  trades: ReplayTrade[];
  equityCurve: EquityPoint[];
  exposure: ExposurePoint[];
}

/** Where a replay run is: stepping through its evidence, finished with a stored report, or stopped by a refusal. */
export const ReplayStatus = v.picklist(["running", "complete", "failed"]);
export type ReplayStatus = v.InferOutput<typeof ReplayStatus>;

/**
 * A replay run as the mesh keeps it: what it replays (strategy, params by hash, window), where it is, and once
 * complete the report's hash and summary. A go-live request cites one by `id`.
 */
export interface ReplayRecord {
  id: string;
  strategyId: string;
  /** SHA-256 of the params' RFC 8785 canonical JSON (`paramsHash` in @paulp/replay). */
  paramsHash: string;
  window: { from: string; to: string };
  status: ReplayStatus;
  requestedAt: string;
  /** Who asked for it (`method:email-or-subject`). */
  requestedBy: string;
  /** Sightings replayed so far. */
  sightings: number;
  /**
   * The sightings the window held when the replay started (the fetch log's count), so progress reads as a share;
   * null for a replay recorded before it was counted.
   */
  totalSightings: number | null;
  completedAt: string | null;
  reportHash: string | null;
  summary: ReplaySummary | null;
  /** Why a failed replay stopped (a refused evidence object is named by its hash in the message). */
  failure: { code: string; message: string } | null;
}

/**
 * How old, how long and how continuous a cited replay's evidence must be. Defaults: at least 7 days of evidence,
 * ending at most 3 days ago, with no gap between consecutive sightings longer than 15 minutes (the crawl runs every
 * 2 minutes: a few failed runs pass, a crawl stopped for an hour does not).
 */
export interface ReplayCitationPolicy {
  minSpanMs: number;
  maxAgeMs: number;
  maxGapMs: number;
}
export const DEFAULT_REPLAY_CITATION_POLICY: ReplayCitationPolicy = {
  minSpanMs: 7 * 24 * 60 * 60 * 1000,
  maxAgeMs: 3 * 24 * 60 * 60 * 1000,
  maxGapMs: 15 * 60 * 1000,
};

/** Why a go-live's replay citation is refused; one per rule, so the caller is told which rule failed. */
export const ReplayCitationRefusal = {
  missing: "replay_missing",
  notComplete: "replay_not_complete",
  otherStrategy: "replay_other_strategy",
  paramsChanged: "replay_params_changed",
  tooShort: "replay_too_short",
  tooOld: "replay_too_old",
  evidenceGap: "replay_evidence_gap",
} as const;
export type ReplayCitationRefusal = (typeof ReplayCitationRefusal)[keyof typeof ReplayCitationRefusal];

/** What a go-live request carries about its replay, so the approvers see it and the apply step re-checks it. */
export const ReplayCitation = v.object({
  replayId: NonEmptyText(128),
  reportHash: Sha256Hex,
  paramsHash: Sha256Hex,
  window: v.object({
    from: Timestamp,
    to: Timestamp,
  }),
});
export type ReplayCitation = v.InferOutput<typeof ReplayCitation>;

/**
 * `GET /admin/evidence/export` and `pnpm replay` speak one file: newline-delimited JSON, a header line, then each
 * distinct object once (raw bytes in standard base64, before its first sighting) and the sightings in fetch order,
 * then a trailer with the counts, so a cut-off file is refused rather than replayed short.
 */
export const EVIDENCE_EXPORT_FORMAT = "paulp.evidence-export";
export const EvidenceExportHeader = v.strictObject({
  kind: v.literal("header"),
  format: v.literal(EVIDENCE_EXPORT_FORMAT),
  version: v.literal(1),
  window: v.strictObject({
    from: Timestamp,
    to: Timestamp,
  }),
  exportedAt: Timestamp,
});
export const EvidenceExportLine = v.variant("kind", [
  EvidenceExportHeader,
  v.strictObject({ kind: v.literal("object"), hash: Sha256Hex, base64: v.string() }),
  v.strictObject({ kind: v.literal("sighting"), ...EvidenceSighting.entries }),
  v.strictObject({
    kind: v.literal("end"),
    objects: Count,
    sightings: Count,
  }),
]);
export type EvidenceExportLine = v.InferOutput<typeof EvidenceExportLine>;

/** Why an export file cannot be read; the line number says where. */
export const EvidenceExportRefusal = {
  malformed: "export_malformed",
  truncated: "export_truncated",
} as const;

/** The longest window one replay may cover (the fetch log keeps at least this much, docs/replay.md). */
export const MAX_REPLAY_SPAN_MS = 31 * 24 * 60 * 60 * 1000;

/** `POST /admin/replays`: replay a strategy over the evidence fetched in `[from, to]`, optionally with other params. */
export const ReplayStart = v.pipe(
  v.strictObject({
    strategyId: NonEmptyText(128),
    from: Timestamp,
    to: Timestamp,
    params: v.optional(v.record(v.string(), v.unknown())),
    /** Time from a decision to its fill against the book then recorded (default 250 ms). */
    latencyMs: v.optional(IntIn(0, 60_000)),
  }),
  v.check((r) => Date.parse(r.from) < Date.parse(r.to), "from must be before to"),
  v.check(
    (r) => Date.parse(r.to) - Date.parse(r.from) <= MAX_REPLAY_SPAN_MS,
    "a replay covers at most 31 days of evidence",
  ),
);
export type ReplayStart = v.InferOutput<typeof ReplayStart>;

/** A replay id: `rp_` and 26 lowercase base32 characters. */
export const ReplayId = v.pipe(
  v.string(),
  v.regex(/^rp_[0-9a-z]{26}$/, "a replay id looks like rp_ and 26 characters"),
);

/**
 * What a `strategy.go_live` payload carries about its replay: the citation and the summary the approvers saw. Part
 * of the approved payload, so what two people approved names exactly one report.
 */
export const GoLiveReplay = v.strictObject({
  ...ReplayCitation.entries,
  summary: ReplaySummarySchema,
});
export type GoLiveReplay = v.InferOutput<typeof GoLiveReplay>;

/** `POST /admin/strategies/:id/go-live`: the replay the request cites. */
export const GoLiveInput = v.strictObject(
  { replayId: ReplayId },
  'go-live needs a body {"replayId": "…"} naming a complete replay of this strategy (POST /admin/replays)',
);
export type GoLiveInput = v.InferOutput<typeof GoLiveInput>;
