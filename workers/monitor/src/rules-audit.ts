// What the audit chain's status and the gateway's admin audit outbox say: integrity, anchor age, mirror lag, and
// admin request records not yet in the chain.
import type { AuditStatus } from "@paulp/contracts";
import type { Observation, Snapshot } from "./observation";
import type { RuleConfig } from "./rule-config";

export function auditRules(
  audit: AuditStatus,
  noAnchorSinceMs: number | null,
  atMs: number,
  config: RuleConfig,
): Observation[] {
  const integrity: Observation = {
    key: "audit_integrity",
    kind: "audit_integrity",
    source: "audit",
    severity: audit.integrity === "broken" ? "critical" : null,
    title: "audit chain integrity broken",
    detail:
      audit.integrity === "broken"
        ? `verification found the chain broken at seq ${audit.lastVerification?.brokenSeq ?? "?"}: ${audit.lastVerification?.reason ?? "no reason given"}`
        : `integrity ${audit.integrity}`,
    labels: {},
  };
  // No anchor yet while entries exist counts from when the monitor first saw it so.
  const age =
    audit.lastAnchorAgeSeconds ??
    (noAnchorSinceMs !== null ? Math.floor((atMs - noAnchorSinceMs) / 1000) : null);
  const anchor: Observation = {
    key: "audit_anchor_age",
    kind: "audit_anchor_age",
    source: "audit",
    severity: age !== null && age > config.anchorMaxAgeSeconds ? "warning" : null,
    title: "audit anchor too old",
    detail:
      audit.lastAnchor === null
        ? `no anchor yet (${audit.entryCount} entries, first seen unanchored ${age ?? 0} s ago)`
        : `last anchor #${audit.lastAnchor.anchorNo} is ${age} s old (limit ${config.anchorMaxAgeSeconds} s); ${audit.unanchoredEntries} entries unanchored`,
    labels: {},
  };
  const lagging = audit.r2MirrorLag > config.mirrorLagMaxEntries || audit.r2MirrorError !== null;
  const mirror: Observation = {
    key: "audit_mirror_lag",
    kind: "audit_mirror_lag",
    source: "audit",
    severity: lagging ? "warning" : null,
    title: "audit R2 mirror lagging",
    detail: `${audit.r2MirrorLag} entries not yet mirrored (limit ${config.mirrorLagMaxEntries})${audit.r2MirrorError ? `; last error: ${audit.r2MirrorError}` : ""}`,
    labels: {},
  };
  return [integrity, anchor, mirror];
}

/**
 * The age at `atMs` of the oldest admin request record the outbox last reported waiting: its age when reported,
 * grown since (a gateway that stopped reporting does not freeze it). Null when none was waiting.
 */
export function outboxOldestAgeSeconds(
  outbox: NonNullable<Snapshot["adminAuditOutbox"]>,
  atMs: number,
): number | null {
  const { report, reportedAtMs } = outbox;
  if (report.depth === 0) return null;
  return (report.oldestAgeSeconds ?? 0) + Math.max(0, Math.floor((atMs - reportedAtMs) / 1000));
}

/**
 * Admin request records not yet in the audit chain (an audit-chain gap in the making): the gateway's outbox keeps
 * them and retries. A warning once the oldest has waited past the limit (its age grows from the report's time, so
 * a gateway that stopped reporting does not freeze it); critical when records were dropped (the gap is real).
 * Clear when the outbox reports empty with nothing dropped. Never reported: nothing is said.
 */
export function outboxRules(
  outbox: NonNullable<Snapshot["adminAuditOutbox"]>,
  atMs: number,
  config: RuleConfig,
): Observation[] {
  const { report } = outbox;
  const age = outboxOldestAgeSeconds(outbox, atMs) ?? 0;
  const severity =
    report.dropped > 0
      ? ("critical" as const)
      : report.depth > 0 && age >= config.adminAuditOutboxWarningSeconds
        ? ("warning" as const)
        : null;
  const waiting =
    report.depth === 0
      ? "no admin request record waiting"
      : `${report.depth} admin request record(s) waiting for the audit chain, the oldest ${age} s (warning from ${config.adminAuditOutboxWarningSeconds} s)${report.lastError ? `; last append: ${report.lastError}` : ""}`;
  return [
    {
      key: "audit_outbox_backlog",
      kind: "audit_outbox_backlog",
      source: "gateway",
      severity,
      title: "admin request records not in the audit chain",
      detail:
        report.dropped > 0
          ? `${report.dropped} record(s) DROPPED (the chain has a gap); ${waiting}`
          : waiting,
      labels: { depth: String(report.depth), dropped: String(report.dropped) },
    },
  ];
}
