import type { Alert, AlertAction, AlertSeverity } from "@paulp/contracts";
import type { Observation, Source } from "./rules";

// An alert's lifecycle as one exhaustive table: where it is (inactive, or active at a severity) and what its
// signal now says (clear, or firing at a severity) give the action, or none. Pure.

/** Where an alert is. */
export type AlertPosition = "inactive" | AlertSeverity;
/** What its signal says. */
export type Reading = "clear" | AlertSeverity;

/** Every (position, reading) pair and its action; `null`: nothing to record (a same-severity reading only refreshes). */
export const ALERT_TRANSITIONS: Record<AlertPosition, Record<Reading, AlertAction | null>> = {
  inactive: { clear: null, warning: "raised", critical: "raised" },
  warning: { clear: "cleared", warning: null, critical: "escalated" },
  critical: { clear: "cleared", warning: "deescalated", critical: null },
};

/** One recorded change. */
export interface AlertChange {
  action: AlertAction;
  alert: Alert;
}

/** The source an alert's signal comes from (kept in its labels). */
export function sourceOf(alert: Alert): Source | "monitor" | "gateway" {
  return (alert.labels.source ?? "monitor") as Source | "monitor" | "gateway";
}

/**
 * Apply one evaluation's observations to the active alerts. An active alert that was not observed is cleared
 * when its source answered (its condition is gone: a drift reconciled away, a reason code no longer denied) and
 * kept as it is when its source did not, or answered without the signal it is read from (`unobservable`: an
 * ingestion deployed without the evidence index audit); not knowing is never "all clear".
 */
export function applyObservations(
  active: Readonly<Record<string, Alert>>,
  observations: readonly Observation[],
  unavailable: ReadonlySet<string>,
  at: string,
  unobservable: ReadonlySet<string> = new Set(),
): { active: Record<string, Alert>; changes: AlertChange[] } {
  const next: Record<string, Alert> = { ...active };
  const changes: AlertChange[] = [];
  const seen = new Set<string>();
  const step = (key: string, reading: Reading, o: Observation | null) => {
    const current = next[key];
    const action = ALERT_TRANSITIONS[current ? current.severity : "inactive"][reading];
    if (action === null) {
      // Same severity: the detail is refreshed, nothing is recorded.
      if (current && o)
        next[key] = { ...current, detail: o.detail, labels: { ...o.labels, source: o.source } };
      return;
    }
    if (action === "cleared") {
      const cleared: Alert = {
        ...current!,
        status: "cleared",
        detail: o?.detail ?? `${current!.title}: no longer observed`,
        updatedAt: at,
        clearedAt: at,
      };
      delete next[key];
      changes.push({ action, alert: cleared });
      return;
    }
    const o2 = o!;
    const alert: Alert = {
      key,
      kind: o2.kind,
      severity: reading as AlertSeverity,
      status: "active",
      title: o2.title,
      detail: o2.detail,
      labels: { ...o2.labels, source: o2.source },
      raisedAt: current?.raisedAt ?? at,
      updatedAt: at,
      clearedAt: null,
    };
    next[key] = alert;
    changes.push({ action, alert });
  };
  for (const o of observations) {
    seen.add(o.key);
    step(o.key, o.severity ?? "clear", o);
  }
  for (const key of Object.keys(active)) {
    if (seen.has(key)) continue;
    if (unavailable.has(sourceOf(active[key]!)) || unobservable.has(key)) continue;
    step(key, "clear", null);
  }
  return { active: next, changes };
}
