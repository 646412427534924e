import {
  type AuditEvent,
  type AuditEventType,
  type AuditPayload,
  type AuditReceipt,
  ok,
  type Principal,
  type Result,
  type Venue,
} from "@paulp/contracts";
import { auditAppend, auditAppendMany, rpc } from "@paulp/kit";
import { afterRateLimit, backoffLeftMs } from "../backoff";
import type { Env } from "../env";
import { venueClients } from "../venues/clients";
import { type VenueError, type VenueResult, verr } from "../venues/result";
import type { OrderStore } from "./store";

export const RPC_TIMEOUT_MS = 5_000;

/**
 * What every order step works with: the bindings, the typed store, the clock (passed in: no step reads
 * `Date.now()` itself) and the orders this instance is sending right now. A slow send (an IBKR reauth and
 * question rounds) is not a send cut off by a restart: the recovery sweeps leave those alone. The set is lost
 * on restart, as it should be.
 */
export interface OrderDesk {
  env: Env;
  store: OrderStore;
  now: () => number;
  sending: Set<string>;
  /** Calls sent without holding up an answer, until they return (see `OrderManager.settled`). */
  background: Set<Promise<unknown>>;
  /** The flush of held audit facts in progress (orders/outbox.ts), so two never append the same facts. */
  flushingHeld: Promise<number> | null;
}

/** Append one event; the answer is the receipt `{ seq, hash }`, kept whole where it is stored. */
export async function audit<T extends AuditEventType<"execution">>(
  desk: OrderDesk,
  type: T,
  actor: Principal,
  payload: AuditPayload<"execution", T>,
): Promise<Result<AuditReceipt>> {
  return auditAppend(desk.env.AUDIT, { type, service: "execution", actor, payload });
}

/** Append events atomically (all or none); every failure is `audit_unavailable`-like, as `auditAppend`. */
export async function auditMany(
  desk: OrderDesk,
  events: AuditEvent<"execution">[],
): Promise<Result<{ seqs: number[] }>> {
  const res = await auditAppendMany(desk.env.AUDIT, events, RPC_TIMEOUT_MS);
  return res.ok ? ok({ seqs: res.value.map((r) => r.seq) }) : res;
}

/**
 * Audit something that already happened at a venue. It cannot be refused (fail closed is not possible after
 * the fact), so a failed append, or one behind others still waiting, goes to the outbox and the alarm
 * appends them in order.
 */
export async function auditFact<T extends AuditEventType<"execution">>(
  desk: OrderDesk,
  type: T,
  actor: Principal,
  payload: AuditPayload<"execution", T>,
): Promise<void> {
  const event: AuditEvent<"execution", T> = { type, service: "execution", actor, payload };
  if (desk.store.countHeldAudits() === 0 && (await auditAppend(desk.env.AUDIT, event)).ok) return;
  desk.store.holdAudit(event);
  console.error("execution: audit of a venue fact held in the outbox", type);
}

/** The venue clients for one actor; IBKR's questions are audited as confirmed or refused. */
export function clients(desk: OrderDesk, actor: Principal, coid?: string) {
  return venueClients(desk.env, async (q) => {
    const audited = await audit(
      desk,
      q.confirmed ? "execution.ibkr_question_confirmed" : "execution.ibkr_question_refused",
      actor,
      { clientOrderId: coid ?? null, message: q.message },
    );
    return audited.ok;
  });
}

/** Tell risk's breaker of a trading-API failure (best effort: the caller's outcome does not wait on it). */
export async function reportVenueFailure(desk: OrderDesk, detail: string, actor: Principal): Promise<void> {
  await rpc(desk.env.RISK, (risk) => risk.reportFailure("venue_order_error", detail, actor), {
    what: "reportFailure",
    timeoutMs: RPC_TIMEOUT_MS,
  });
}

const EXECUTION = { method: "system", subject: "execution" } as const;

/**
 * Every trading request goes through here. While a venue's backoff runs, nothing is sent to it (the call
 * answers `rate_limited` at once). A 429 starts or doubles the backoff and counts toward the breaker as a
 * trading-API failure (`venue_order_error`); a successful call ends the streak.
 */
export async function toVenue<T>(
  desk: OrderDesk,
  venue: Venue,
  call: () => Promise<VenueResult<T>>,
): Promise<VenueResult<T>> {
  const { store } = desk;
  const waitMs = backoffLeftMs(store.backoff(venue), desk.now());
  if (waitMs > 0)
    return verr(
      "rate_limited",
      `${venue} rate-limited us: backing off ${Math.ceil(waitMs / 1000)} s more, nothing sent`,
    );
  const r = await call();
  // Counted for monitoring by venue and kind (a venue that is simply not configured is no venue error).
  if (!r.ok && r.error.kind !== "not_configured") store.countVenueError(venue, r.error.kind);
  const previous = store.backoff(venue);
  if (r.ok) {
    if (previous) store.saveBackoff(venue, null);
  } else if (r.error.kind === "rate_limited") {
    const now = desk.now();
    const next = afterRateLimit(previous, now);
    store.saveBackoff(venue, next);
    await reportVenueFailure(
      desk,
      `${venue} rate-limited a trading request (429 #${next.streak} in a row; backing off ${(next.untilMs - now) / 1000} s): ${r.error.message}`.slice(
        0,
        500,
      ),
      EXECUTION,
    );
  }
  return r;
}

/** A live send that failed: the order's state from the error's kind, and the breaker told where it counts. */
export async function venueFailure(desk: OrderDesk, coid: string, e: VenueError): Promise<void> {
  if (e.kind === "outcome_unknown") {
    desk.store.move(coid, "unknown", `outcome unknown: ${e.message}`);
  } else if (e.kind === "duplicate") {
    // The venue already holds this id (an earlier attempt whose answer we lost): look it up, never resend.
    desk.store.move(coid, "unknown", `venue reports duplicate id: ${e.message}`);
  } else {
    desk.store.move(coid, "rejected", `${e.kind}: ${e.message}`);
  }
  if (
    e.kind === "outcome_unknown" ||
    e.kind === "unavailable" ||
    e.kind === "auth" ||
    e.kind === "invalid_response"
  )
    await reportVenueFailure(desk, `${e.kind}: ${e.message}`, EXECUTION);
}

/**
 * A live venue call went through: execution's order-error count starts again (only it may reset it). Not
 * awaited: the order's answer does not wait on bookkeeping (`rpc` never throws).
 */
export function venueAnswered(desk: OrderDesk): void {
  const call = rpc(desk.env.RISK, (risk) => risk.reportSuccess("venue_order_error"), {
    what: "reportSuccess",
    timeoutMs: RPC_TIMEOUT_MS,
  });
  desk.background.add(call);
  void call.finally(() => desk.background.delete(call));
}
