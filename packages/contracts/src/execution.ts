import * as v from "valibot";
import type { HealthReport, Principal, Result } from "./common";
import type { ApprovalReceiptRef } from "./governance";

/** Paper fills against the latest ingested book with no venue call; live sends to the venue. */
export const ExecutionMode = v.picklist(["paper", "live"]);
/** An execution mode. */
export type ExecutionMode = v.InferOutput<typeof ExecutionMode>;

/**
 * A change of execution policy, globally or for one strategy. Moving to live is the two-person action
 * `execution.policy_live` whose payload is exactly this object; moving to paper is immediate.
 */
export const ExecutionPolicyChange = v.object({
  scope: v.union([v.literal("global"), v.pipe(v.string(), v.regex(/^strategy:[A-Za-z0-9_-]{1,64}$/))]),
  mode: ExecutionMode,
});
/** A change of execution policy. */
export type ExecutionPolicyChange = v.InferOutput<typeof ExecutionPolicyChange>;

/** The current execution policy. */
export interface ExecutionPolicyView {
  global: ExecutionMode;
  strategies: Record<string, ExecutionMode>;
  version: number;
  updatedAt: string;
  updatedBy: string;
}

/** RPC surface of the `execution` worker. */
export interface ExecutionRpc {
  health(): Promise<HealthReport>;
  getPolicy(): Promise<Result<ExecutionPolicyView>>;
  /** To paper: immediate. To live: needs `receipt` redeeming `execution.policy_live` for exactly `change`. */
  setPolicy(change: ExecutionPolicyChange, actor: Principal, receipt?: ApprovalReceiptRef): Promise<Result<ExecutionPolicyView>>;
}
