import {
  type AuditEventInput,
  type AuditReceipt,
  type AuditService,
  ErrorCode,
  type Result,
} from "@paulp/contracts";
import { withTimeout } from "./timeout";

/**
 * Append to the audit chain, turning every failure (binding down, timeout, refusal) into a failed result.
 * Callers must treat a failure as "the action does not happen": the audit is fail-closed.
 */
export async function auditAppend(
  audit: AuditService,
  event: AuditEventInput,
  timeoutMs = 5_000,
): Promise<Result<AuditReceipt>> {
  try {
    const result = await withTimeout(audit.append(event), timeoutMs, "audit append");
    return result as Result<AuditReceipt>;
  } catch (error) {
    return {
      ok: false,
      error: {
        code: ErrorCode.auditUnavailable,
        message: `audit append failed: ${(error as Error).message}`,
      },
    };
  }
}
