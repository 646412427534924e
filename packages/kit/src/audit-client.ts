import {
  type AuditEventInput,
  type AuditReceipt,
  type AuditService,
  ErrorCode,
  type Result,
} from "@paulp/contracts";
import { rpc } from "./rpc";

/**
 * Append to the audit chain, turning every failure (binding down, timeout, refusal) into a failed result.
 * Callers must treat a failure as "the action does not happen": the audit is fail-closed.
 */
export function auditAppend(
  audit: AuditService,
  event: AuditEventInput,
  timeoutMs = 5_000,
): Promise<Result<AuditReceipt>> {
  return rpc(audit, (chain) => chain.append(event), {
    what: "audit append",
    timeoutMs,
    code: ErrorCode.auditUnavailable,
  });
}
