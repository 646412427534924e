import * as v from "valibot";
import type { HealthReport, Principal, Result } from "./common";

/** The actions that need two-person approval (the specification's list, plus the breaker's exit from RECOVERY). */
export const ApprovalAction = v.picklist([
  "strategy.go_live",
  "risk.limits_increase",
  "strategy.allocation_increase",
  "execution.policy_live",
  "breaker.recovery_to_normal",
]);
/** An action that needs two-person approval. */
export type ApprovalAction = v.InferOutput<typeof ApprovalAction>;

/**
 * Reference to a desk receipt, handed to the applying worker, which redeems it with governance over RPC.
 * `receiptToken` is a random secret minted when the request reached its approval threshold.
 */
export interface ApprovalReceiptRef {
  requestId: string;
  receiptToken: string;
}

/** What an applying worker learns when it redeems a receipt. */
export interface VerifiedApproval {
  requestId: string;
  action: ApprovalAction;
  payloadHash: string;
  policyVersion: number;
  approvers: string[];
  requestedBy: string;
}

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
export interface GovernanceRpc {
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
  /** Ingestion proposes candidates; a changed termsHash on either leg lapses an existing approval. */
  proposePairs(candidates: PairCandidate[], actor: Principal): Promise<Result<{ created: number; lapsed: number }>>;
  /** Pairs a signal may use right now. */
  tradablePairs(): Promise<Result<TradablePair[]>>;
  /** Strategies in paper or live for the trading loop. */
  activeStrategies(): Promise<Result<StrategySummary[]>>;
}
