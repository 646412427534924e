import * as v from "valibot";
import type { BreakerState, BreakerStatus } from "./breaker";
import type { Venue } from "./common";
import { IntFrom, PageLimit } from "./fields";
import { FreeText } from "./free-text";
import { DecimalString, type PositionEffect, type RiskReason } from "./risk";

// What operators read and set on risk: its limits and capital base (changes raising either need two people),
// the exposure report, the recent-decision log and the monitoring figures. The evaluation contract and the
// `RiskRpc` surface that answers these are in risk.ts.

/** One limit's current use: the worst observed value against the limit, both in %. */
export interface LimitUse {
  limit: string;
  observedPct: string;
  limitPct: string;
  /** observed / limit, in % (100 = exactly at the limit). */
  usedPct: string;
  /** The position, market, group or category at that worst value. */
  at: string | null;
}

/** What `GET /admin/risk/exposure` shows. Money is decimal strings in dollars. */
export interface RiskExposure {
  equity: string | null;
  dayStartEquity: string | null;
  highWaterMark: string | null;
  realisedPnl: string;
  unrealisedPnl: string | null;
  openPositions: number;
  breakerState: BreakerState;
  limitsVersion: number;
  /** Effective limits (CAUTION and RECOVERY halve the exposure limits). */
  limits: LimitUse[];
  /**
   * Positions whose market has no mark price, or whose mark is older than `maxMarkAgeSeconds` (their value is
   * doubtful: opening orders are denied `NO_EQUITY` while any is listed; reducing and closing go on).
   */
  unmarkedPositions: string[];
  /** Each open position valued at its mark (the console's positions table). */
  positions?: ExposurePosition[];
  /** Gross exposure per category, with its share of equity (the console's chart). */
  categories?: ExposureCategory[];
}

/** One open position as risk values it. Money in dollars (decimal strings); a short is a negative quantity. */
export interface ExposurePosition {
  strategyId: string;
  venue: Venue;
  market: string;
  quantity: number;
  /** Cost basis per contract of the open quantity. */
  avgPrice: string | null;
  mark: string | null;
  markAt: string | null;
  markAgeSeconds: number | null;
  /** The mark is older than the mark-age limit (or missing): the position's value is doubtful. */
  stale: boolean;
  unrealisedPnl: string | null;
  category: string | null;
  /** The evidence the mark was read from (a closing order cites it). */
  markEvidenceHash: string | null;
}

/** Gross exposure in one category. */
export interface ExposureCategory {
  category: string;
  exposure: string;
  /** Exposure as a % of equity ("unknown" without equity). */
  pctOfEquity: string;
}

/** A percentage as a decimal string, e.g. "5" or "2.5". */
export const PercentString = v.pipe(
  v.string(),
  v.regex(/^\d{1,3}(\.\d{1,4})?$/, "must be a percentage like 5 or 2.5"),
);

/**
 * The Risk Governor's limits (the specification's defaults: 5/10/15/30/3/10 %) plus pre-trade basics.
 * Raising any of them is a capital-allocation increase and needs two-person approval.
 */
export const RiskLimits = v.object({
  maxPositionPct: PercentString,
  maxConcentrationPct: PercentString,
  maxMarketExposurePct: PercentString,
  maxCategoryExposurePct: PercentString,
  maxDailyLossPct: PercentString,
  maxDrawdownPct: PercentString,
  maxOrderQuantity: IntFrom(1),
  maxOrderNotional: DecimalString,
  maxOrdersPerMinute: IntFrom(1),
  maxMarkAgeSeconds: IntFrom(1),
  /** Groups of correlated markets, each market named `venue:market`; a market's exposure counts its groups' markets. */
  correlationGroups: v.record(FreeText(200), v.array(v.string())),
  /** Largest order notional (dollars) allowed in RECOVERY; default a tenth of `maxOrderNotional`. */
  recoveryProbeNotional: v.optional(DecimalString),
  /**
   * Price collar (SEC 15c3-5 erroneous-order control) for opening and increasing orders: a buy may not be
   * priced above the reference (the fresh mark, and the book's far side when known) plus the larger of this
   * percentage of the reference and `priceCollarMinimum`; a sell not below it minus the same. Default 10.
   */
  priceCollarPct: v.optional(PercentString),
  /** The collar's least width in dollars (cheap contracts would otherwise get a collar under one tick). Default 0.05. */
  priceCollarMinimum: v.optional(DecimalString),
});
/** The Risk Governor's limits. */
export type RiskLimits = v.InferOutput<typeof RiskLimits>;

/** The six percentage limits of the specification, in its order (the order the exposure report lists them in). */
export const PERCENT_LIMITS = [
  "maxPositionPct",
  "maxConcentrationPct",
  "maxMarketExposurePct",
  "maxCategoryExposurePct",
  "maxDailyLossPct",
  "maxDrawdownPct",
] as const satisfies readonly (keyof RiskLimits)[];
/** One of the six percentage limits. */
export type PercentLimit = (typeof PERCENT_LIMITS)[number];

/**
 * The limits risk starts with: the specification's defaults (5/10/15/30/3/10 %) plus conservative pre-trade basics
 * and the 10 % price collar. One value for risk and for the doubles that stand in for it.
 */
export const DEFAULT_RISK_LIMITS: Readonly<RiskLimits> = Object.freeze({
  maxPositionPct: "5",
  maxConcentrationPct: "10",
  maxMarketExposurePct: "15",
  maxCategoryExposurePct: "30",
  maxDailyLossPct: "3",
  maxDrawdownPct: "10",
  maxOrderQuantity: 5_000,
  maxOrderNotional: "2500.00",
  maxOrdersPerMinute: 60,
  maxMarkAgeSeconds: 120,
  correlationGroups: {},
  priceCollarPct: "10",
  priceCollarMinimum: "0.05",
});

/**
 * The capital base the percentage limits apply to: the portfolio's equity is set to `equity` (dollars, a
 * decimal string). Raising it (or setting it for the first time) is a capital-allocation increase: the
 * two-person action `risk.capital_increase` with exactly this object as payload. Lowering applies at once.
 */
export const CapitalChange = v.strictObject({ equity: DecimalString });
/** A change of the capital base. */
export type CapitalChange = v.InferOutput<typeof CapitalChange>;

/** The capital base after a change. */
export interface CapitalView {
  equity: string;
  previousEquity: string | null;
  changedBy: string;
  changedAt: string;
}

/** Limits with their version. */
export interface RiskLimitsView {
  version: number;
  limits: RiskLimits;
  updatedAt: string;
  updatedBy: string;
}

/** One decision as the governor's recent-decision log keeps it (the intent's identifying fields and the reasons). */
export interface DecisionSummary {
  decisionId: string;
  at: string;
  approved: boolean;
  reasons: RiskReason[];
  breakerState: BreakerState;
  strategyId: string;
  venue: Venue;
  market: string;
  side: "buy" | "sell";
  effect: PositionEffect;
  quantity: number;
  limitPrice: string;
  clientOrderId: string;
  auditSeq: number;
}

/**
 * Counters since the governor's storage was created (monotonic: Prometheus counters): decisions approved and
 * denied, and denials by reason code (a denial with two reasons counts under both).
 */
export interface DecisionCounters {
  approved: number;
  denied: number;
  deniedByCode: Record<string, number>;
}

/** A reason code as a filter names it: `RiskReasonCode`'s shape (a code no decision carries matches none). */
export const ReasonCode = v.pipe(v.string(), v.regex(/^[A-Z][A-Z0-9_]{0,63}$/, "a reason code"));

/** Query of `recentDecisions`: newest first; `deniedOnly` leaves out approvals; `code` one reason code. */
export const DecisionQuery = v.object({
  limit: v.optional(PageLimit),
  deniedOnly: v.optional(v.boolean()),
  code: v.optional(ReasonCode),
});
/** Query of `recentDecisions`. */
export type DecisionQuery = v.InferOutput<typeof DecisionQuery>;

/** What monitoring reads from risk in one call: counters, breaker, transitions by pair, marks of held markets. */
export interface RiskMonitorStats {
  decisions: DecisionCounters;
  breaker: BreakerStatus;
  /** Breaker transitions since the breaker was created, by `FROM->TO`. */
  transitions: Record<string, number>;
  /** Age in seconds of the mark of every market a position is held in (null: no mark). */
  heldMarks: { venue: Venue; market: string; ageSeconds: number | null }[];
  exposure: RiskExposure | null;
}
