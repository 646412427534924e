import type { DecisionCounters, DecisionSummary, OrderIntent, RiskDecision } from "@paulp/contracts";

// The governor's recent-decision log and its counters (for `/admin/risk/decisions`, alerts and metrics). Pure:
// the Durable Object stores what these return in the same write as the decision itself.

/** How many recorded decisions the log keeps (the audit chain keeps every one). */
export const DECISION_LOG_SIZE = 500;

/** Storage key prefix of one logged decision: `dlog:` and a zero-padded sequence, so a list is in time order. */
export const DECISION_LOG_PREFIX = "dlog:";

/** The counters and the sequence of the next log entry, stored as one small value. */
export interface DecisionLogState extends DecisionCounters {
  nextSeq: number;
}

/** Before any decision. */
export function emptyDecisionLog(): DecisionLogState {
  return { nextSeq: 1, approved: 0, denied: 0, deniedByCode: {} };
}

/** The storage key of log entry `seq`. */
export function decisionLogKey(seq: number): string {
  return `${DECISION_LOG_PREFIX}${String(seq).padStart(12, "0")}`;
}

/** Count one decision and summarise it for the log; answers the new state and the entry. */
export function logDecision(
  state: DecisionLogState,
  decision: RiskDecision,
  intent: OrderIntent,
  at: string,
): { state: DecisionLogState; seq: number; entry: DecisionSummary } {
  const deniedByCode = { ...state.deniedByCode };
  if (!decision.approved)
    for (const code of new Set(decision.reasons.map((r) => r.code)))
      deniedByCode[code] = (deniedByCode[code] ?? 0) + 1;
  return {
    state: {
      nextSeq: state.nextSeq + 1,
      approved: state.approved + (decision.approved ? 1 : 0),
      denied: state.denied + (decision.approved ? 0 : 1),
      deniedByCode,
    },
    seq: state.nextSeq,
    entry: {
      decisionId: decision.decisionId,
      at,
      approved: decision.approved,
      reasons: decision.reasons,
      breakerState: decision.breakerState,
      strategyId: intent.strategyId,
      venue: intent.venue,
      market: intent.market,
      side: intent.side,
      effect: intent.effect,
      quantity: intent.quantity,
      limitPrice: intent.limitPrice,
      clientOrderId: intent.clientOrderId,
      auditSeq: decision.auditSeq,
    },
  };
}

/** The log read newest first, filtered as asked. */
export function queryDecisionLog(
  newestFirst: readonly DecisionSummary[],
  q: { limit?: number | undefined; deniedOnly?: boolean | undefined; code?: string | undefined },
): DecisionSummary[] {
  const out: DecisionSummary[] = [];
  const limit = q.limit ?? 100;
  for (const d of newestFirst) {
    if (out.length >= limit) break;
    if (q.deniedOnly && d.approved) continue;
    if (q.code && !d.reasons.some((r) => r.code === q.code)) continue;
    out.push(d);
  }
  return out;
}
