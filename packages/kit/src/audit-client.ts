import {
  type AuditAppendOptions,
  type AuditEmitter,
  type AuditEvent,
  type AuditEventType,
  type AuditReceipt,
  type AuditService,
  ErrorCode,
  type Result,
} from "@paulp/contracts";
import { rpc } from "./rpc";

/**
 * Append one event of the catalog (packages/contracts audit-events.ts) to the audit chain, turning every failure
 * (binding down, timeout, refusal) into a failed result. Callers must treat a failure as "the action does not
 * happen": the audit is fail-closed. `options.idempotencyKey` makes a retry of the same record safe (see
 * AuditAppendOptions): an outbox retrying after a timeout passes its record's key.
 */
export function auditAppend<S extends AuditEmitter, T extends AuditEventType<S>>(
  audit: AuditService,
  event: AuditEvent<S, T>,
  timeoutMs = 5_000,
  options?: AuditAppendOptions,
): Promise<Result<AuditReceipt>> {
  return rpc(audit, (chain) => (options ? chain.append(event, options) : chain.append(event)), {
    what: "audit append",
    timeoutMs,
    code: ErrorCode.auditUnavailable,
  });
}

/**
 * Append events of the catalog atomically (all or none, at most 500), failing as `auditAppend` does. Unbounded
 * unless `timeoutMs` is given (a caller that keeps the events in an outbox may wait).
 */
export function auditAppendMany<S extends AuditEmitter, T extends AuditEventType<S>>(
  audit: AuditService,
  events: AuditEvent<S, T>[],
  timeoutMs?: number,
): Promise<Result<AuditReceipt[]>> {
  return rpc(audit, (chain) => chain.appendMany(events), {
    what: "audit append",
    timeoutMs,
    code: ErrorCode.auditUnavailable,
  });
}
