import type { AlertChange } from "./alert-table";

// The text of the emails the monitor sends. Pure. Alert details carry no secret (they are the same words as the
// audit chain's), and the subject says the worst news first so a phone's notification is enough to act on.

/** An email before delivery. */
export interface Composed {
  subject: string;
  text: string;
}

const RANK = { raised: 0, escalated: 1, deescalated: 2, cleared: 3 } as const;

/** One email for one evaluation's changes (null when nothing changed). */
export function composeAlertEmail(changes: readonly AlertChange[], environment: string): Composed | null {
  if (changes.length === 0) return null;
  const sorted = [...changes].sort(
    (a, b) =>
      Number(b.alert.severity === "critical") - Number(a.alert.severity === "critical") ||
      RANK[a.action] - RANK[b.action],
  );
  const first = sorted[0]!;
  const more = sorted.length > 1 ? ` (+${sorted.length - 1} more)` : "";
  const subject = `[paulp ${environment}] ${first.alert.severity.toUpperCase()} ${first.action}: ${first.alert.title}${more}`;
  const lines = sorted.map(
    (c) =>
      `${c.action.toUpperCase()} ${c.alert.severity} ${c.alert.key}\n  ${c.alert.title}\n  ${c.alert.detail}\n  raised ${c.alert.raisedAt}${c.alert.clearedAt ? `, cleared ${c.alert.clearedAt}` : ""}`,
  );
  return {
    subject: subject.slice(0, 200),
    text: `${lines.join("\n\n")}\n\nActive alerts: GET /admin/alerts. Runbook: docs/runbook.md, Monitoring.\n`,
  };
}

/** The email every recipient (old and new) gets when the recipient list changes. */
export function composeRecipientNotice(
  action: "add" | "remove",
  email: string,
  by: string,
  environment: string,
): Composed {
  const verb = action === "add" ? "added" : "removed";
  return {
    subject: `[paulp ${environment}] alert recipient ${verb}: ${email}`,
    text: `${email} was ${verb} as a recipient of Paul P alerts by ${by}.\nIf nobody on the desk expected this, check the audit chain (monitor.recipient_changed) and remove it.\n`,
  };
}
