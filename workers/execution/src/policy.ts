import type { ExecutionMode, ExecutionPolicyChange, ExecutionPolicyView } from "@paulp/contracts";

/** Where every deployment starts: paper everywhere. */
export function initialPolicy(now: string): ExecutionPolicyView {
  return { global: "paper", strategies: {}, version: 0, updatedAt: now, updatedBy: "system:execution" };
}

/**
 * Live only when the global switch AND the strategy are live: global paper is a kill switch for every
 * strategy, and a strategy never promoted on its own stays paper (fail closed).
 */
export function effectiveMode(policy: ExecutionPolicyView, strategyId: string): ExecutionMode {
  if (policy.global !== "live") return "paper";
  return policy.strategies[strategyId] === "live" ? "live" : "paper";
}

/** The policy after a change (pure; the caller checks approvals). */
export function applyPolicyChange(
  policy: ExecutionPolicyView,
  change: ExecutionPolicyChange,
  actor: string,
  now: string,
): ExecutionPolicyView {
  const next: ExecutionPolicyView = {
    ...policy,
    strategies: { ...policy.strategies },
    version: policy.version + 1,
    updatedAt: now,
    updatedBy: actor,
  };
  if (change.scope === "global") next.global = change.mode;
  else next.strategies[change.scope.slice("strategy:".length)] = change.mode;
  return next;
}
