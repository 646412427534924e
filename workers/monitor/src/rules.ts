// What each signal of the specification's monitoring list says about its alert. Pure: the Durable Object reads
// the signals (src/signals.ts) and keeps the counters between evaluations; the rules know no clock or binding.
// One module per source they watch (`rules-risk.ts`, `rules-audit.ts` with the gateway's outbox,
// `rules-ingestion.ts`, `rules-execution.ts`) over `observation.ts` (what they read and say) and `rule-config.ts`;
// this one runs them in order.
import type { Counters, Observation, RuleMemory, Snapshot } from "./observation";
import type { RuleConfig } from "./rule-config";
import { auditRules, outboxRules } from "./rules-audit";
import { driftRules, hedgeRules, tradingRules } from "./rules-execution";
import { EVIDENCE_INDEX_KEYS, evidenceIndexRules, marketDataRules } from "./rules-ingestion";
import { breakerRules, denialRules } from "./rules-risk";

export type { Counters, Observation, RuleMemory, Snapshot, Source } from "./observation";
export { DEFAULT_RULES, parseRuleConfig, type RuleConfig } from "./rule-config";
export { outboxOldestAgeSeconds, outboxRules } from "./rules-audit";
export { indexStepAgeSeconds } from "./rules-ingestion";

/**
 * Every observation of one evaluation, and what to remember for the next. A source that did not answer gives
 * no observation of its own (its alerts keep their state) but a `monitor_source` warning; its counters are
 * carried over, so the next answer's rate covers the gap. `unobservable`: alert keys whose signal a source that
 * answered did not carry (their alerts keep their state too).
 */
export function observe(
  snapshot: Snapshot,
  memory: RuleMemory,
  config: RuleConfig,
): { observations: Observation[]; memory: RuleMemory; unobservable: Set<string> } {
  const observations: Observation[] = [];
  const previous = memory.counters;
  const down = new Map(snapshot.unavailable.map((u) => [u.source, u.reason]));
  for (const source of ["risk", "audit", "ingestion", "execution"] as const) {
    const reason = down.get(source);
    observations.push({
      key: `monitor_source:${source}`,
      kind: "monitor_source",
      source: "monitor",
      severity: reason ? "warning" : null,
      title: `monitor cannot read ${source}`,
      detail: reason ? `${source} did not answer: ${reason}` : `${source} answered`,
      labels: { source },
    });
  }
  if (snapshot.risk) {
    observations.push(...breakerRules(snapshot.risk), ...denialRules(snapshot.risk, previous, config));
  }
  let noAnchorSinceMs = memory.noAnchorSinceMs;
  if (snapshot.audit) {
    const unanchored = snapshot.audit.lastAnchor === null && snapshot.audit.entryCount > 0;
    noAnchorSinceMs = unanchored ? (noAnchorSinceMs ?? snapshot.atMs) : null;
    observations.push(...auditRules(snapshot.audit, noAnchorSinceMs, snapshot.atMs, config));
  }
  const unobservable = new Set<string>();
  let noIndexStepSinceMs = memory.noIndexStepSinceMs ?? null;
  if (snapshot.ingestion) {
    if (!snapshot.ingestion.evidenceIndex) for (const key of EVIDENCE_INDEX_KEYS) unobservable.add(key);
    const neverStepped = snapshot.ingestion.evidenceIndex?.lastStepAt === null;
    noIndexStepSinceMs = neverStepped ? (noIndexStepSinceMs ?? snapshot.atMs) : null;
    observations.push(
      ...marketDataRules(snapshot.ingestion, config),
      ...evidenceIndexRules(snapshot.ingestion, noIndexStepSinceMs, snapshot.atMs, config),
    );
  }
  if (snapshot.execution) {
    observations.push(
      ...driftRules(snapshot.execution),
      ...tradingRules(snapshot.execution, previous, config),
      ...hedgeRules(snapshot.execution, config),
    );
  }
  if (snapshot.adminAuditOutbox)
    observations.push(...outboxRules(snapshot.adminAuditOutbox, snapshot.atMs, config));
  const counters: Counters = {
    deniedByCode: snapshot.risk?.decisions.deniedByCode ?? previous?.deniedByCode ?? {},
    decisions: snapshot.risk
      ? snapshot.risk.decisions.approved + snapshot.risk.decisions.denied
      : (previous?.decisions ?? 0),
    denied: snapshot.risk?.decisions.denied ?? previous?.denied ?? 0,
    tradingErrors: snapshot.execution?.venueErrors ?? previous?.tradingErrors ?? {},
  };
  return { observations, memory: { counters, noAnchorSinceMs, noIndexStepSinceMs }, unobservable };
}
