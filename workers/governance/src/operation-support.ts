// What the governance operations share: the context they run in (Act), argument schemas, a presented receipt,
// the desk handle, the audit append and the person check.
import {
  type AuditEventType,
  type AuditPayload,
  ErrorCode,
  err,
  isPerson,
  ok,
  Principal,
  type Result,
} from "@paulp/contracts";
import { auditAppend, CanonicalJsonError, canonicalHash, parseInput, rpc, sha256Hex } from "@paulp/kit";
import * as v from "valibot";
import { PAYLOAD_HASH_DOMAIN, RECEIPT_HASH_DOMAIN } from "./actions";
import type { ApprovalDesk } from "./approval-desk";
import type { Env } from "./env";

/** An id of a request, strategy or pair. */
export const Id = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/, "must be an id of [A-Za-z0-9_-]"));
/** A receipt as its holder presents it. */
export const ReceiptRef = v.object({
  requestId: Id,
  receiptToken: v.pipe(v.string(), v.minLength(16), v.maxLength(128)),
});

/**
 * A receipt as its holder presents it, checked for shape, or `approval_required` saying why not (`refusal` starts
 * the message): a malformed receipt is a refused approval, not a malformed argument. Its token goes no further
 * than the hash the desk compares (`hashToken`).
 */
export function presentedReceipt(raw: unknown, refusal: string): Result<ReceiptRef> {
  const receipt = parseInput(ReceiptRef, raw);
  return receipt.ok ? receipt : err(ErrorCode.approvalRequired, `${refusal}: ${receipt.error.message}`);
}
export type ReceiptRef = v.InferOutput<typeof ReceiptRef>;

/**
 * What an operation runs with: the worker's bindings, the moment it was called (`now`) and the clock, for a step
 * that must read the time again later (a receipt given back after a failed apply, an assessment's end). The
 * entrypoint and the desk pass the clock in; the operations never read one of their own.
 */
export interface Context {
  readonly env: Env;
  readonly now: number;
  readonly clock: () => number;
}
export const contextAt = (env: Env, clock: () => number): Context => ({ env, now: clock(), clock });

/** An operation someone does: its context and the principal acting (the audited actor, a person where it must be). */
export interface Act extends Context {
  readonly actor: Principal;
}

/** An id and the principal acting on it, parsed together (errors name `id` or `actor.…`). */
export const IdAndActor = v.object({ id: Id, actor: Principal });

/** The desk's methods with plain types (the stub's RPC-wrapped types do not narrow on `ok`). */
export type DeskApi = Pick<
  ApprovalDesk,
  "open" | "approve" | "close" | "reissue" | "redeem" | "returnReceipt" | "get" | "list"
>;
/** One desk for the whole system: every request is serialised through the same object. */
export const desk = (env: Env) => env.APPROVAL_DESK.get(env.APPROVAL_DESK.idFromName("desk"));
/**
 * How governance answers a throw in its own work (an RPC method's, or a call to the desk after the object reset):
 * an internal failure, logged, its cause kept inside. Spread into each `rpc()` call's options.
 */
export const OWN_FAILURE = { code: ErrorCode.internal, hideCause: true } as const;
/** A call to the desk (a throw: OWN_FAILURE). */
export const onDesk = <R>(env: Env, what: string, call: (desk: DeskApi) => Promise<Result<R>>) =>
  rpc(desk(env), call, { what: `desk.${what}`, ...OWN_FAILURE });
export const iso = (now: number) => new Date(now).toISOString();

/** Hash an approval payload; a payload JCS cannot represent is a validation failure, not a throw. */
export async function hashPayload(payload: unknown): Promise<Result<string>> {
  if (payload === undefined) return err(ErrorCode.validationFailed, "payload is required");
  try {
    // RPC keeps `undefined` members that JSON (and so the stored payload) drops: hash the JSON form,
    // so `{ expectedVersion: undefined }` and `{}` are the same payload on both sides.
    return ok(await canonicalHash(PAYLOAD_HASH_DOMAIN, JSON.parse(JSON.stringify(payload))));
  } catch (error) {
    if (error instanceof CanonicalJsonError)
      return err(ErrorCode.validationFailed, `payload: ${error.message}`);
    throw error;
  }
}

export const hashToken = (token: string) => sha256Hex(`${RECEIPT_HASH_DOMAIN}\n${token}`);

export async function audit<T extends AuditEventType<"governance">>(
  env: Env,
  type: T,
  actor: Principal,
  payload: AuditPayload<"governance", T>,
) {
  return auditAppend(env.AUDIT, { type, service: "governance", actor, payload });
}

/** Only a verified person (Cloudflare Access) may do `what`: the shared admin token is no person. */
export function requirePerson(actor: Principal, what: string): Result<Principal> {
  if (isPerson(actor)) return ok(actor);
  return err(
    ErrorCode.forbidden,
    `only a verified person (Cloudflare Access) can ${what}; the admin token cannot`,
  );
}
