import * as v from "valibot";
import type {
  ApprovalAction,
  ApprovalDecision,
  ApprovalReceiptRef,
  ApprovalRequestInput,
  ApprovalStatus,
  ApprovalView,
  ApproverRoster,
  RosterListing,
  VerifiedApproval,
} from "./approval-requests";
import { type HealthReport, type JsonValue, type Principal, type Result, withinJsonDepth } from "./common";
import { FreeText, withoutSensitiveJson } from "./free-text";
import type { GoLiveReplay } from "./replay";
import { StrategyId } from "./risk";

/** A strategy as the execution loop needs it. */
export interface StrategySummary {
  id: string;
  name: string;
  kind: string;
  state: "draft" | "paper" | "pending_live" | "live" | "paused" | "retired";
  /** Capital allocation in dollars, decimal string. */
  allocation: string;
  venues: string[];
  params: Record<string, unknown>;
}

/** One side of a cross-venue pair as proposed by ingestion. */
export interface PairLeg {
  venue: "kalshi" | "polymarket";
  marketId: string;
  title: string;
  rules: string | null;
  resolutionSource: string | null;
  closeTime: string | null;
  evidenceHash: string;
  termsHash: string;
  /** Polymarket only: the YES and NO token ids. */
  outcomeTokens?: string[] | null;
  /**
   * The scheme `termsHash` was computed under: 2 covers venue, market id, title, rules, resolution source, close
   * time and outcome tokens; absent means 1 (rules, source and close time only).
   */
  termsVersion?: number;
}

/** A candidate pair found by text matching; equivalence is decided later by the LLM and a person. */
export interface PairCandidate {
  kalshi: PairLeg;
  polymarket: PairLeg;
  similarity: number;
}

/** A pair usable for a cross-venue signal: graded identical/near_equivalent and approved by a person. */
export interface TradablePair {
  pairId: string;
  kalshi: PairLeg;
  polymarket: PairLeg;
  grade: "identical" | "near_equivalent";
  /** Which Polymarket outcome Kalshi's YES maps to. */
  yesMapsTo: "YES" | "NO";
  approvedBy: string;
  approvedAt: string;
}

/** RPC surface of the `governance` worker. */
export interface GovernanceRpc extends GovernanceAdminRpc {
  health(): Promise<HealthReport>;
  /**
   * Verifies and consumes a desk receipt for exactly this action and payload (re-hashed here):
   * refuses unknown, unapproved, expired, already-executed receipts or a payload mismatch.
   */
  redeemReceipt(
    receipt: ApprovalReceiptRef,
    action: ApprovalAction,
    payload: unknown,
    actor: Principal,
  ): Promise<Result<VerifiedApproval>>;
  /**
   * Give back a receipt this caller redeemed when its apply step then failed (the action did not happen):
   * the request is approved again with no live receipt, so a person re-runs it with
   * `POST /admin/approvals/:id/execute` instead of collecting two new approvals. Only the redeemed token
   * returns it, once, within the execute window; audited (`governance.receipt_returned`).
   */
  returnReceipt(
    receipt: ApprovalReceiptRef,
    reason: string,
    actor: Principal,
  ): Promise<Result<{ requestId: string; status: ApprovalStatus }>>;
  /**
   * Ingestion proposes candidates; a changed termsHash on either leg lapses an existing approval, except when only
   * the hash scheme moved (`termsVersion`) over terms nobody changed: then the pair is re-keyed (`rekeyed`). A
   * candidate that does not validate is refused on its own (counted, audited); the others still apply.
   */
  proposePairs(
    candidates: PairCandidate[],
    actor: Principal,
  ): Promise<Result<{ created: number; lapsed: number; refused: number; rekeyed: number }>>;
  /** Pairs a signal may use right now. */
  tradablePairs(): Promise<Result<TradablePair[]>>;
  /** Strategies in paper or live for the trading loop. */
  activeStrategies(): Promise<Result<StrategySummary[]>>;
  /** One strategy in any state, or `not_found` (execution refuses orders for a strategy that does not exist). */
  getStrategy(strategyId: string): Promise<Result<StrategySummary>>;
}

/** Strategy lifecycle states. */
export const StrategyState = v.picklist(["draft", "paper", "pending_live", "live", "paused", "retired"]);
/** A strategy lifecycle state. */
export type StrategyState = v.InferOutput<typeof StrategyState>;

/** A dollar amount as a decimal string with at most two decimals, e.g. "2500" or "2500.50". */
export const AllocationString = v.pipe(
  v.string(),
  v.regex(/^\d{1,12}(\.\d{1,2})?$/, "must be dollars like 2500 or 2500.50"),
);

/** Body of `POST /admin/strategies`. */
export const StrategyCreateInput = v.object({
  name: FreeText(120, 1),
  kind: v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_]{0,63}$/, "must be a lower-case identifier")),
  allocation: AllocationString,
  venues: v.pipe(v.array(v.picklist(["kalshi", "polymarket", "ibkr"])), v.minLength(1), v.maxLength(3)),
  params: v.optional(
    v.pipe(
      v.record(
        v.string(),
        v.pipe(
          v.custom<JsonValue>(() => true),
          withinJsonDepth(),
        ),
      ),
      withoutSensitiveJson(),
    ),
    {},
  ),
});
/** Body of `POST /admin/strategies`. */
export type StrategyCreateInput = v.InferOutput<typeof StrategyCreateInput>;

/** A strategy with its bookkeeping, as the admin API shows it. */
export interface StrategyView extends StrategySummary {
  version: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
  /** The open go-live or allocation request, if any. */
  pendingRequestId: string | null;
}

/** Payload of a `strategy.go_live` request: exactly the configuration that goes live. */
export interface StrategyGoLivePayload {
  strategyId: string;
  version: number;
  allocation: string;
  venues: string[];
  replay: GoLiveReplay;
}

/** Payload of a `strategy.allocation_increase` request. */
export const StrategyAllocationPayload = v.object({
  strategyId: StrategyId,
  allocation: AllocationString,
});
/** Payload of a `strategy.allocation_increase` request. */
export type StrategyAllocationPayload = v.InferOutput<typeof StrategyAllocationPayload>;

/** The grades an equivalence assessment can give. */
export const PairGrade = v.picklist(["identical", "near_equivalent", "not_equivalent", "uncertain"]);
/** An equivalence grade. */
export type PairGrade = v.InferOutput<typeof PairGrade>;

/** The LLM's verdict on a pair (anything it could not give is `uncertain`). */
export interface PairVerdict {
  grade: PairGrade;
  yesMapsTo: "YES" | "NO" | null;
  reasons: string[];
}

/** A pair as the admin API shows it. */
export interface PairView {
  pairId: string;
  kalshi: PairLeg;
  polymarket: PairLeg;
  similarity: number;
  grade: PairGrade | null;
  yesMapsTo: "YES" | "NO" | null;
  reasons: string[];
  assessmentId: string | null;
  assessedAt: string | null;
  review: "pending" | "approved" | "rejected";
  reviewedBy: string | null;
  reviewedAt: string | null;
  /** True when a signal may use it now. */
  tradable: boolean;
}

/** One kept LLM assessment: prompt, model, verdict and the evidence of both markets. */
export interface PairAssessment {
  assessmentId: string;
  pairId: string;
  model: string;
  promptHash: string;
  verdict: PairVerdict;
  /**
   * `verdict` when the model answered with a valid tool call; `held` when it gave a passing grade that the terms
   * check outside the model contradicted (stored as uncertain, left for a person); otherwise why it became uncertain.
   */
  outcome: "verdict" | "refusal" | "error" | "timeout" | "malformed" | "held";
  detail: string | null;
  kalshiEvidenceHash: string;
  polymarketEvidenceHash: string;
  auditSeq: number;
  /** The audit receipt's hash (with `auditSeq`). */
  auditHash: string;
  assessedAt: string;
  /** The Messages API `request-id` of the last answer (null when none came back). */
  requestId: string | null;
  /** Token usage the API reported for the answer (null when there was none). */
  usage: AssessmentUsage | null;
  /** Requests sent for this assessment (429 / 529 retries included). */
  attempts: number;
}

/** Token usage of one assessment, as the Messages API reports it. */
export interface AssessmentUsage {
  input_tokens: number | null;
  output_tokens: number | null;
  cache_creation_input_tokens: number | null;
  cache_read_input_tokens: number | null;
  service_tier: string | null;
}

/** Body of `POST /admin/pairs/:id/review`. */
export const PairReviewInput = v.object({
  decision: v.picklist(["approve", "reject"]),
  note: v.optional(FreeText(1000), ""),
});
/** A human review of a pair. */
export type PairReviewInput = v.InferOutput<typeof PairReviewInput>;

/**
 * Governance RPC methods used by the gateway's admin routes (desk, strategies, pairs). Every method
 * that changes state takes the acting principal; only verified persons may request, approve or review.
 */
export interface GovernanceAdminRpc {
  /** Open a two-person request for exactly this action and payload (persons only). */
  requestApproval(input: ApprovalRequestInput, actor: Principal): Promise<Result<ApprovalView>>;
  /** Approve as a distinct person; the approval that reaches the threshold gets the receipt. */
  approve(requestId: string, actor: Principal): Promise<Result<ApprovalDecision>>;
  /** Reject (final). */
  reject(requestId: string, reason: string, actor: Principal): Promise<Result<ApprovalView>>;
  /** Requests, newest first, optionally of one status. */
  listApprovals(filter: { status?: ApprovalStatus }): Promise<Result<ApprovalView[]>>;
  /** One request. */
  getApproval(requestId: string): Promise<Result<ApprovalView>>;
  /** A fresh receipt for an approved, not yet executed request within its execute window (the old one dies). */
  reissueReceipt(requestId: string, actor: Principal): Promise<Result<ApprovalDecision>>;
  /** Apply `strategy.go_live` or `strategy.allocation_increase` by redeeming its receipt. */
  applyStrategyApproval(
    receipt: ApprovalReceiptRef,
    action: "strategy.go_live" | "strategy.allocation_increase",
    payload: unknown,
    actor: Principal,
  ): Promise<Result<StrategyView>>;
  createStrategy(input: StrategyCreateInput, actor: Principal): Promise<Result<StrategyView>>;
  listStrategies(): Promise<Result<StrategyView[]>>;
  /** Direct lifecycle moves that need no approval (paper, paused, retired). */
  transitionStrategy(
    strategyId: string,
    to: "paper" | "paused" | "retired",
    actor: Principal,
  ): Promise<Result<StrategyView>>;
  /** Move to pending_live and open the `strategy.go_live` request (persons only). */
  requestGoLive(
    strategyId: string,
    actor: Principal,
    replay: GoLiveReplay,
  ): Promise<Result<{ strategy: StrategyView; request: ApprovalView }>>;
  listPairs(filter: { review?: "pending" | "approved" | "rejected" }): Promise<Result<PairView[]>>;
  /** Run the LLM assessment now. */
  /** Assess up to `limit` candidates nobody has assessed yet (the cron's work); answers how many were assessed. */
  assessPending(actor: Principal, limit?: number): Promise<Result<{ assessed: number }>>;
  assessPair(
    pairId: string,
    actor: Principal,
  ): Promise<Result<{ pair: PairView; assessment: PairAssessment }>>;
  /** A person approves or rejects a graded pair. */
  reviewPair(pairId: string, review: PairReviewInput, actor: Principal): Promise<Result<PairView>>;
  /** Every action's approver roster (an action whose first roster cannot be set from config says why). */
  listRosters(): Promise<Result<RosterListing[]>>;
  /** Apply `governance.roster_change` by redeeming its receipt: the action's roster becomes exactly `approvers`. */
  applyRosterChange(
    receipt: ApprovalReceiptRef,
    payload: unknown,
    actor: Principal,
  ): Promise<Result<ApproverRoster>>;
}
