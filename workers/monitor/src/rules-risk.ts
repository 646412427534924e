// What risk's signals say: the circuit breaker's state, and denials since the last evaluation (per reason code,
// and their share of the decisions).
import type { RiskMonitorStats } from "@paulp/contracts";
import { type Counters, delta, type Observation } from "./observation";
import type { RuleConfig } from "./rule-config";

const BREAKER_SEVERITY = { NORMAL: null, CAUTION: "warning", RECOVERY: "warning", HALT: "critical" } as const;

export function breakerRules(risk: RiskMonitorStats): Observation[] {
  const b = risk.breaker;
  return [
    {
      key: "breaker_state",
      kind: "breaker_state",
      source: "risk",
      severity: BREAKER_SEVERITY[b.state],
      title: `circuit breaker ${b.state}`,
      detail: `${b.state} v${b.version} since ${b.since} by ${b.changedBy}: ${b.reason}`,
      labels: { state: b.state, version: String(b.version) },
    },
  ];
}

export function denialRules(
  risk: RiskMonitorStats,
  previous: Counters | null,
  config: RuleConfig,
): Observation[] {
  const out: Observation[] = [];
  const byCode = risk.decisions.deniedByCode;
  const codes = new Set([...Object.keys(byCode), ...Object.keys(previous?.deniedByCode ?? {})]);
  for (const code of [...codes].sort()) {
    // The first evaluation has nothing to compare with: history before it is not a rate.
    const n = previous ? delta(byCode[code] ?? 0, previous.deniedByCode[code] ?? 0) : 0;
    const critical = config.criticalDenialCodes.includes(code);
    const severity = critical && n >= 1 ? "critical" : n >= config.denialsPerCodeWarning ? "warning" : null;
    out.push({
      key: `risk_denials:${code}`,
      kind: "risk_denials",
      source: "risk",
      severity,
      title: `risk denials ${code}`,
      detail: `${n} order(s) denied ${code} since the last evaluation (${byCode[code] ?? 0} in all)`,
      labels: { code },
    });
  }
  const decisions = risk.decisions.approved + risk.decisions.denied;
  const made = previous ? delta(decisions, previous.decisions) : 0;
  const deniedNow = previous ? delta(risk.decisions.denied, previous.denied) : 0;
  const pct = made > 0 ? (deniedNow / made) * 100 : 0;
  out.push({
    key: "risk_denials:rate",
    kind: "risk_denials",
    source: "risk",
    severity: made >= config.denialRateMinDecisions && pct >= config.denialRateWarningPct ? "warning" : null,
    title: "risk denial rate",
    detail: `${deniedNow} of ${made} decision(s) denied since the last evaluation (${pct.toFixed(0)}%)`,
    labels: { code: "*" },
  });
  return out;
}
