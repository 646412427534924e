import {
  ANCHOR_OVERDUE_SECONDS,
  type AuditAlert,
  type AuditStatus,
  FULL_VERIFICATION_OVERDUE_SECONDS,
} from "@paulp/contracts";

/** What the alerts need besides the status itself. */
export interface AlertFacts {
  nowMs: number;
  /** `ts` of entry 1, if any: a chain younger than a day is not overdue a full verification. */
  chainStartedAt: string | null;
  /** Why anchors cannot be signed, when they cannot. */
  keyError: string | null;
  /** The break behind `integrity: broken`. */
  brokenReason: string | null;
  brokenSince: string | null;
}

/**
 * The conditions the audit status raises, most severe first. Pure: the status already holds every age. Risk's audit
 * watch acts on `integrity_broken` (HALT) and `anchor_overdue` (CAUTION); the others are for a person.
 */
export function auditAlerts(status: Omit<AuditStatus, "alerts">, facts: AlertFacts): AuditAlert[] {
  const alerts: AuditAlert[] = [];
  const iso = (ageSeconds: number) => new Date(facts.nowMs - ageSeconds * 1000).toISOString();
  if (status.integrity === "broken")
    alerts.push({
      code: "integrity_broken",
      severity: "critical",
      message: `audit chain integrity is broken: ${facts.brokenReason ?? "see lastVerification"}`,
      since: facts.brokenSince,
    });
  const unanchoredAge = status.oldestUnanchoredAgeSeconds;
  if (unanchoredAge !== null && unanchoredAge > ANCHOR_OVERDUE_SECONDS)
    alerts.push({
      code: "anchor_overdue",
      severity: "warning",
      message: `${status.unanchoredEntries} entries are not anchored, the oldest for ${Math.floor(unanchoredAge / 60)} minutes (anchors are hourly; overdue past ${ANCHOR_OVERDUE_SECONDS / 60})`,
      since: unanchoredAge >= Number.MAX_SAFE_INTEGER ? null : iso(unanchoredAge - ANCHOR_OVERDUE_SECONDS),
    });
  const fullAge = status.lastFullVerificationAgeSeconds;
  const chainAge =
    facts.chainStartedAt === null ? 0 : (facts.nowMs - Date.parse(facts.chainStartedAt)) / 1000;
  if (
    fullAge !== null
      ? fullAge > FULL_VERIFICATION_OVERDUE_SECONDS
      : chainAge > FULL_VERIFICATION_OVERDUE_SECONDS
  )
    alerts.push({
      code: "full_verification_overdue",
      severity: "warning",
      message:
        fullAge === null
          ? "the chain has never been fully verified (the daily scheduled verification has not run)"
          : `the last full verification is ${Math.floor(fullAge / 3600)} hours old (it runs daily)`,
      since: fullAge === null ? null : iso(fullAge - FULL_VERIFICATION_OVERDUE_SECONDS),
    });
  if (facts.keyError)
    alerts.push({
      code: "anchor_signing_unavailable",
      severity: "warning",
      message: `anchors cannot be signed or checked: ${facts.keyError}`,
      since: null,
    });
  if (status.r2MirrorError)
    alerts.push({
      code: "r2_mirror_failing",
      severity: "warning",
      message: `R2 mirror failing (retried; anchors wait for it): ${status.r2MirrorError}`,
      since: null,
    });
  return alerts;
}
