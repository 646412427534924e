import type {
  AuditReceipt,
  AuditReceiptCheck,
  AuditStatus,
  AuditVerification,
  AuditWatchOutcome,
  BreakerStatus,
  FailureKind,
  Principal,
  Result,
} from "@paulp/contracts";

/** What the integrity watch needs: the audit chain's answers, risk's kept receipts and the breaker's inputs. */
export interface AuditWatchDeps {
  verify(): Promise<Result<AuditVerification>>;
  status(): Promise<Result<AuditStatus>>;
  /** The audit receipts risk kept (newest and a sample of older ones). */
  receipts(): Promise<AuditReceipt[]>;
  checkReceipts(receipts: AuditReceipt[]): Promise<Result<AuditReceiptCheck>>;
  reportFailure(kind: FailureKind, detail: string, actor: Principal): Promise<Result<BreakerStatus>>;
  reportSuccess(kind: FailureKind): Promise<Result<BreakerStatus>>;
}

/** Call the audit worker; a throw is an answer too (unavailable), never "intact". */
async function ask<T>(fn: () => Promise<Result<T>>): Promise<Result<T>> {
  try {
    return await fn();
  } catch (error) {
    return { ok: false, error: { code: "audit_unavailable", message: (error as Error).message } };
  }
}

/**
 * Every 5 minutes: verify the audit chain (incrementally, from the last verified anchor), check the receipts risk
 * kept, read the anchor age, and feed the breaker. The audit worker binds nothing, so the breaker learns of the
 * chain only through this.
 * - broken chain, or a receipt the chain no longer holds → `audit_integrity_broken` (HALT);
 * - the audit cannot answer → `audit_failure` (an outage is never "intact");
 * - the hourly anchor overdue (`anchor_overdue` raised by the audit status) → `audit_anchor_overdue` (CAUTION),
 *   and its success once anchoring caught up.
 * An intact run clears `audit_integrity_broken` only: `audit_failure` counts every refused append and outage
 * until an operator returns the breaker to NORMAL, so intermittent failures add up to HALT.
 */
export async function watchAuditIntegrity(
  deps: AuditWatchDeps,
  actor: Principal,
): Promise<AuditWatchOutcome> {
  const unavailable = async (what: string, e: { code: string; message: string }) => {
    const reason = `audit ${what} unavailable: ${e.code}: ${e.message}`;
    await deps.reportFailure("audit_failure", reason, actor);
    return { verdict: "unavailable" as const, reason };
  };
  const broken = async (brokenSeq: number | null, reason: string) => {
    await deps.reportFailure("audit_integrity_broken", reason, actor);
    return { verdict: "broken" as const, brokenSeq, reason };
  };
  const verified = await ask(deps.verify);
  if (!verified.ok) return unavailable("verification", verified.error);
  const v = verified.value;
  if (!v.ok)
    return broken(
      v.brokenSeq ?? null,
      `audit chain broken at seq ${v.brokenSeq ?? "?"}: ${v.reason ?? "unknown"}`,
    );
  const kept = await deps.receipts().catch(() => [] as AuditReceipt[]);
  if (kept.length > 0) {
    const checked = await ask(() => deps.checkReceipts(kept));
    if (!checked.ok) return unavailable("receipt check", checked.error);
    const lost = checked.value.broken;
    if (lost.length > 0) {
      const first = lost.reduce((a, b) => (b.seq < a.seq ? b : a));
      return broken(first.seq, `audit chain no longer holds risk's receipt: ${first.detail}`);
    }
  }
  const status = await ask(deps.status);
  if (!status.ok) return unavailable("status", status.error);
  const overdue = (status.value.alerts ?? []).find((a) => a.code === "anchor_overdue");
  if (overdue) await deps.reportFailure("audit_anchor_overdue", overdue.message, actor);
  else await deps.reportSuccess("audit_anchor_overdue");
  await deps.reportSuccess("audit_integrity_broken");
  return {
    verdict: "intact",
    checkedEntries: v.checkedEntries,
    anchorOverdue: overdue !== undefined,
    receiptsChecked: kept.length,
  };
}
