import type { BreakerState, BreakerTransitionRecord, FailureKind, Principal } from "@paulp/contracts";
import { jsonObjectVar } from "@paulp/kit";

// The circuit breaker as one exhaustive transition table, plus consecutive-failure counting.
// Pure: the Durable Object supplies the clock, persistence, audit and approvals.

/** Who may make a transition: anyone (incl. automatic), an operator (a token or Access principal), or an operator holding a two-person receipt. */
export type TransitionGuard = "any" | "operator" | "operator_with_approval";

/** Every allowed (from, to) pair and who may make it; any pair not here is refused, naming the current state. */
export const TRANSITIONS: Record<BreakerState, Partial<Record<BreakerState, TransitionGuard>>> = {
  NORMAL: { CAUTION: "any", HALT: "any" },
  CAUTION: { NORMAL: "operator", HALT: "any" },
  HALT: { HALT: "any", RECOVERY: "operator" },
  RECOVERY: { NORMAL: "operator_with_approval", HALT: "any" },
};

/** Failure counts that send the breaker NORMAL → CAUTION and (from NORMAL or CAUTION) → HALT. */
export type Thresholds = Record<FailureKind, { caution: number; halt: number }>;

/** Defaults: venue errors are noisy; everything touching integrity or money halts at once. */
export const DEFAULT_THRESHOLDS: Thresholds = {
  venue_api_error: { caution: 3, halt: 10 },
  venue_order_error: { caution: 2, halt: 5 },
  invariant_violation: { caution: 1, halt: 3 },
  audit_failure: { caution: 1, halt: 3 },
  reconciliation_drift: { caution: 1, halt: 1 },
  audit_integrity_broken: { caution: 1, halt: 1 },
  // Reported by the 5-minute audit watch each run the hourly anchor is overdue: CAUTION at once; HALT after a
  // day of it (288 runs), when a whole day of trading is fixed nowhere outside the sequencer.
  audit_anchor_overdue: { caution: 1, halt: 288 },
};

/**
 * Failures a success does not clear: only an operator returning the breaker to NORMAL does (or HALT → RECOVERY).
 * An audit append refused now and then, with successes between, is still the audit trail failing: intermittent
 * failures add up (the first moves NORMAL → CAUTION, the third since the desk was last returned to NORMAL halts),
 * and an intact verification of the chain says nothing about the appends that were refused.
 */
export const CLEARED_BY_OPERATOR_ONLY: ReadonlySet<FailureKind> = new Set(["audit_failure"]);

/** Thresholds from a JSON var like `{"venue_api_error":{"caution":3,"halt":10}}`, falling back to defaults per kind. */
export function parseThresholds(text: string | undefined): Thresholds {
  const out: Thresholds = structuredClone(DEFAULT_THRESHOLDS);
  const raw = jsonObjectVar(text) as Record<string, { caution?: unknown; halt?: unknown } | undefined> | null;
  if (!raw) return out;
  for (const kind of Object.keys(out) as FailureKind[]) {
    const t = raw[kind];
    const ok = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 1;
    // A malformed entry keeps the (stricter) default rather than disabling the breaker.
    if (t && ok(t.caution) && ok(t.halt) && t.caution <= t.halt)
      out[kind] = { caution: t.caution, halt: t.halt };
  }
  return out;
}

/** The persisted breaker. */
export interface BreakerRecord {
  state: BreakerState;
  version: number;
  since: string;
  reason: string;
  changedBy: string;
  consecutiveFailures: Partial<Record<FailureKind, number>>;
}

/** The breaker before anything happened. */
export function initialBreaker(now: string): BreakerRecord {
  return {
    state: "NORMAL",
    version: 0,
    since: now,
    reason: "initial",
    changedBy: "system:risk",
    consecutiveFailures: {},
  };
}

/** True for a principal that is a human operator (bearer token or Access), not an automatic actor. */
export function isOperator(actor: Principal): boolean {
  return actor.method === "token" || actor.method === "access";
}

/** Why a transition was refused. */
export type TransitionRefusal =
  | { code: "conflict"; message: string }
  | { code: "validation_failed"; message: string }
  | { code: "forbidden"; message: string }
  | { code: "approval_required"; message: string };

/**
 * Check a requested transition against the table: the pair, the actor, the version. Every transition other
 * than to HALT names the version it acts on (`expectedVersion`): without it a recovery decided on an old HALT
 * would override a newer one nobody has looked at. A missing or stale version is refused naming the current
 * state and version. HALT is always allowed, so it needs and checks no version.
 */
export function checkTransition(
  current: BreakerRecord,
  target: BreakerState,
  actor: Principal,
  opts: { expectedVersion?: number | undefined; hasApproval: boolean },
): TransitionRefusal | null {
  const guard = TRANSITIONS[current.state][target];
  if (!guard) {
    return {
      code: "conflict",
      message: `transition ${current.state} → ${target} is not allowed (current state ${current.state})`,
    };
  }
  if (guard !== "any" && !isOperator(actor)) {
    return { code: "forbidden", message: `${current.state} → ${target} is made by an operator only` };
  }
  if (target !== "HALT" && opts.expectedVersion === undefined) {
    return {
      code: "validation_failed",
      message: `expectedVersion: ${current.state} → ${target} names the breaker version it acts on (current ${current.state} v${current.version})`,
    };
  }
  if (target !== "HALT" && opts.expectedVersion !== current.version) {
    return {
      code: "conflict",
      message: `stale transition: expected version ${opts.expectedVersion}, current ${current.state} v${current.version}`,
    };
  }
  if (guard === "operator_with_approval" && !opts.hasApproval) {
    return {
      code: "approval_required",
      message: `${current.state} → ${target} needs a breaker.recovery_to_normal approval`,
    };
  }
  return null;
}

/** Apply an allowed transition. */
export function applyTransition(
  current: BreakerRecord,
  target: BreakerState,
  reason: string,
  by: string,
  now: string,
): BreakerRecord {
  const leavingHalt = current.state === "HALT" && target === "RECOVERY";
  return {
    state: target,
    version: current.version + 1,
    since: now,
    reason,
    changedBy: by,
    // A fresh start in RECOVERY: any failure from here sends it back to HALT.
    consecutiveFailures: leavingHalt || target === "NORMAL" ? {} : { ...current.consecutiveFailures },
  };
}

/** Count a failure; returns the state it should move to (if any) by the thresholds. */
export function countFailure(
  current: BreakerRecord,
  kind: FailureKind,
  thresholds: Thresholds,
): { record: BreakerRecord; target: BreakerState | null } {
  const count = (current.consecutiveFailures[kind] ?? 0) + 1;
  const record = { ...current, consecutiveFailures: { ...current.consecutiveFailures, [kind]: count } };
  const t = thresholds[kind];
  let target: BreakerState | null = null;
  if (current.state === "RECOVERY") target = "HALT";
  else if ((current.state === "NORMAL" || current.state === "CAUTION") && count >= t.halt) target = "HALT";
  else if (current.state === "NORMAL" && count >= t.caution) target = "CAUTION";
  return { record, target };
}

/** A success of `kind` resets its consecutive count (except the kinds only an operator clears). */
export function countSuccess(current: BreakerRecord, kind: FailureKind): BreakerRecord {
  if (!current.consecutiveFailures[kind] || CLEARED_BY_OPERATOR_ONLY.has(kind)) return current;
  const consecutiveFailures = { ...current.consecutiveFailures };
  delete consecutiveFailures[kind];
  return { ...current, consecutiveFailures };
}

/** How many transitions the breaker keeps for `/admin/circuit-breaker/history` (the audit chain keeps all). */
export const BREAKER_HISTORY_SIZE = 200;

/** The kept history and counts by `FROM->TO` after one more transition (newest last). */
export function withTransition(
  history: readonly BreakerTransitionRecord[],
  counts: Readonly<Record<string, number>>,
  t: BreakerTransitionRecord,
): { history: BreakerTransitionRecord[]; counts: Record<string, number> } {
  const pair = `${t.from}->${t.to}`;
  return {
    history: [...history, t].slice(-BREAKER_HISTORY_SIZE),
    counts: { ...counts, [pair]: (counts[pair] ?? 0) + 1 },
  };
}
