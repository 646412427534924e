import type {
  AuditVerification,
  AuditWatchOutcome,
  BreakerStatus,
  FailureKind,
  Principal,
  Result,
} from "@paulp/contracts";

/** What the integrity watch needs: the audit chain's verification and the breaker's failure inputs. */
export interface AuditWatchDeps {
  verify(): Promise<Result<AuditVerification>>;
  reportFailure(kind: FailureKind, detail: string, actor: Principal): Promise<Result<BreakerStatus>>;
  reportSuccess(kind: FailureKind): Promise<Result<BreakerStatus>>;
}

/**
 * Verify the audit chain (incrementally, from the last verified anchor) and feed the breaker: a broken
 * chain is an `audit_integrity_broken` failure; an audit that cannot answer is an `audit_failure`, never
 * "intact". The audit worker binds nothing, so the breaker learns of a broken chain only through this.
 */
export async function watchAuditIntegrity(
  deps: AuditWatchDeps,
  actor: Principal,
): Promise<AuditWatchOutcome> {
  let result: Result<AuditVerification>;
  try {
    result = await deps.verify();
  } catch (error) {
    result = { ok: false, error: { code: "audit_unavailable", message: (error as Error).message } };
  }
  if (!result.ok) {
    const reason = `audit verification unavailable: ${result.error.code}: ${result.error.message}`;
    await deps.reportFailure("audit_failure", reason, actor);
    return { verdict: "unavailable", reason };
  }
  const v = result.value;
  if (!v.ok) {
    const reason = `audit chain broken at seq ${v.brokenSeq ?? "?"}: ${v.reason ?? "unknown"}`;
    await deps.reportFailure("audit_integrity_broken", reason, actor);
    return { verdict: "broken", brokenSeq: v.brokenSeq ?? null, reason };
  }
  await deps.reportSuccess("audit_integrity_broken");
  await deps.reportSuccess("audit_failure");
  return { verdict: "intact", checkedEntries: v.checkedEntries };
}
