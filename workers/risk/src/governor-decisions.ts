import {
  type BreakerState,
  ErrorCode,
  type EvaluationMode,
  err,
  type OrderIntent,
  ok,
  type Principal,
  type Result,
  type RiskDecision,
} from "@paulp/contracts";
import { auditAppend, formatDollars, orNull, parseDollars, randomId } from "@paulp/kit";
import {
  type Evaluation,
  evaluateIntent,
  marketKey,
  moveReservationInView,
  type PortfolioState,
  type Reservation,
  reserveInView,
  updateWatermarks,
  utcDay,
  valuation,
} from "@paulp/risk-rules";
import { DECISION_LOG_SIZE, decisionLogKey, logDecision } from "./decision-log";
import type { Env } from "./env";
import {
  currentView,
  deleteKeys,
  type GovernorState,
  RATE_WINDOW_MS,
  RESERVATION_PREFIX,
  type StateChange,
  type StoredDecision,
} from "./governor-state";
import { offerReceipt } from "./receipt-sample";

// Risk's decisions over the governor's state: evaluate against the current view, record (audited, reserved,
// logged), claim once, release and prune. The clock is passed in; storage is the governor's.

/** How long an approved decision can be consumed, and how long its reservation counts if it is not. */
export const DECISION_TTL_MS = 30_000;
/**
 * How long a consumed decision's reservation counts at most: the order may rest at the venue (an IBKR DAY
 * order lives until the session ends), so it is held until execution says the order ended
 * (`releaseReservations`) or its fills cover it; this is only the backstop if that word never comes, and
 * erring long only over-counts exposure (denies more), never under-counts.
 */
export const SUBMITTED_RESERVATION_MS = 24 * 3600_000;
/** How long a client order id stays taken. */
const CLIENT_ID_TTL_MS = 24 * 3600_000;
/** Expired decisions are kept this long (for a clear "expired" answer), then dropped. */
const DECISION_KEEP_MS = 10 * 60_000;

export function evaluateNow(
  st: GovernorState,
  storage: DurableObjectStorage,
  intent: OrderIntent,
  breakerState: BreakerState,
  now: number,
): Result<Evaluation> {
  prune(st, storage, now);
  if (st.portfolio.day !== utcDay(now)) {
    // A new UTC day with no fill or mark yet: the day's loss counts from now.
    updateWatermarks(st.portfolio, valuation(st.portfolio).equity, now);
    st.view = null;
  }
  if (!st.parsed) return err(ErrorCode.internal, "stored limits do not parse; refusing to evaluate");
  const view = currentView(st);
  const windowStart = now - RATE_WINDOW_MS;
  let recent = 0;
  for (const t of st.orders.approvals) if (t > windowStart) recent++;
  return ok(
    evaluateIntent({
      intent,
      view,
      limits: st.parsed,
      breakerState,
      nowMs: now,
      approvalsLastMinute: recent,
      clientOrderIdUsed: st.clientIds.has(intent.clientOrderId),
    }),
  );
}

/**
 * Evaluate and record a decision (`decide`: to be consumed later; `decide_and_consume`: an approval already
 * used, its caller submits it at once, so it is made and spent in one storage write and can never be consumed
 * by anyone else). The decision exists only once the audit chain holds it. Run inside the governor's serial queue.
 */
export async function recordDecision(
  st: GovernorState,
  storage: DurableObjectStorage,
  env: Env,
  intent: OrderIntent,
  actor: Principal,
  breakerState: BreakerState,
  mode: Exclude<EvaluationMode, "dry_run">,
  intentHash: string,
  now: number,
): Promise<Result<StateChange<RiskDecision>>> {
  const ev = evaluateNow(st, storage, intent, breakerState, now);
  if (!ev.ok) return ev;
  const { approved, reasons, breach } = ev.value;
  const decision: RiskDecision = {
    decisionId: `rd_${randomId(16)}`,
    approved,
    reasons,
    limitsVersion: st.limits.version,
    breakerState,
    intentHash,
    expiresAt: new Date(now + DECISION_TTL_MS).toISOString(),
    auditSeq: 0,
    auditHash: "",
  };
  const { auditSeq: _, auditHash: _h, ...recorded } = decision;
  const consumed = mode === "decide_and_consume" && approved;
  // The decision exists only once the audit chain holds it (fail closed).
  const appended = await auditAppend(env.AUDIT, {
    type: "risk.decision",
    service: "risk",
    actor,
    payload: {
      ...recorded,
      intent,
      breach,
      consumed,
      mark: markSeen(st.portfolio, intent, now),
    },
  });
  if (!appended.ok)
    return err(ErrorCode.auditUnavailable, `decision not recorded: ${appended.error.message}`);
  decision.auditSeq = appended.value.seq;
  decision.auditHash = appended.value.hash;
  // Denials are kept too, so consuming one answers "was a denial" rather than "unknown".
  const stored: StoredDecision = { decision, opensRisk: ev.value.opensRisk, used: consumed };
  st.decisions.set(decision.decisionId, stored);
  if (approved) {
    st.orders.approvals.push(now);
    st.clientIds.set(intent.clientOrderId, now);
    // Every approval is reserved until it fills, ends or expires; a reducing one only for the effect check.
    const reduces = !ev.value.opensRisk;
    st.orders.reservations[decision.decisionId] = {
      posKey: ev.value.posKey,
      venue: intent.venue,
      market: intent.market,
      qty: ev.value.delta,
      clientOrderId: intent.clientOrderId,
      expiresAtMs: now + (consumed ? SUBMITTED_RESERVATION_MS : DECISION_TTL_MS),
      ...(reduces
        ? { reduces: true }
        : { priceUnits: orNull(() => parseDollars(intent.limitPrice)) ?? undefined }),
    };
    if (st.view && !reserveInView(st.view, intent, ev.value.delta, reduces)) st.view = null;
  }
  // Logged and counted in the same write (the log and counters feed monitoring; the chain has every one).
  const logged = logDecision(st.decisionLog, decision, intent, new Date(now).toISOString());
  st.decisionLog = logged.state;
  st.recentLog.push({ seq: logged.seq, entry: logged.entry });
  const dropped = st.recentLog.length > DECISION_LOG_SIZE ? st.recentLog.shift() : undefined;
  if (dropped) void storage.delete(decisionLogKey(dropped.seq));
  // One multi-key put: one storage transaction per decision, with only this decision's own keys.
  const writes: Record<string, unknown> = {
    [`decision:${decision.decisionId}`]: stored,
    ...offerReceipt(st.receipts, appended.value),
    [decisionLogKey(logged.seq)]: logged.entry,
    dlog: logged.state,
  };
  if (approved) {
    writes[`cid:${intent.clientOrderId}`] = now;
    const reservation = st.orders.reservations[decision.decisionId];
    if (reservation) writes[`${RESERVATION_PREFIX}${decision.decisionId}`] = reservation;
  }
  await storage.put(writes);
  return ok({ value: decision, breach });
}

/**
 * Mark an approved decision used, once, and say whether it opens risk. The breaker is not checked here: the
 * caller reads it concurrently (one hop, not two in a row) and refuses an opening decision if it read HALT;
 * such a decision is then used up, never approved.
 */
export async function claimDecision(
  st: GovernorState,
  storage: DurableObjectStorage,
  decisionId: string,
  intentHash: string,
  now: number,
): Promise<Result<{ decision: RiskDecision; opensRisk: boolean }>> {
  const stored = st.decisions.get(decisionId);
  if (!stored) return err(ErrorCode.notFound, "unknown decision");
  const d = stored.decision;
  if (!d.approved) return err(ErrorCode.riskDenied, "decision was a denial");
  if (stored.used) return err(ErrorCode.conflict, "decision already used");
  if (Date.parse(d.expiresAt) <= now) return err(ErrorCode.conflict, "decision expired");
  if (d.intentHash !== intentHash)
    return err(ErrorCode.conflict, "intent hash does not match the approved intent");
  stored.used = true;
  const writes: Record<string, unknown> = { [`decision:${decisionId}`]: stored };
  // Submitted now: its reservation holds until the order ends, not only the decision's 30 s.
  const reservation = st.orders.reservations[decisionId];
  if (reservation) {
    reservation.expiresAtMs = now + SUBMITTED_RESERVATION_MS;
    writes[`${RESERVATION_PREFIX}${decisionId}`] = reservation;
  }
  await storage.put(writes);
  return ok({ decision: d, opensRisk: stored.opensRisk });
}

/**
 * Execution says these orders ended (filled, cancelled, rejected, expired): whatever they still reserve is
 * released. Their fills were reported first, so the filled part already counts as a position.
 */
export async function releaseReservations(
  st: GovernorState,
  storage: DurableObjectStorage,
  clientOrderIds: string[],
): Promise<{ released: number }> {
  const ended = new Set(clientOrderIds);
  const released = dropReservations(st, (r) => ended.has(r.clientOrderId));
  await Promise.all(deleteKeys(storage, released));
  return { released: released.length };
}

/** Remove the reservations `which` selects, from memory and the view; answers their storage keys. */
export function dropReservations(st: GovernorState, which: (r: Reservation) => boolean): string[] {
  const keys: string[] = [];
  for (const [id, r] of Object.entries(st.orders.reservations)) {
    if (!which(r)) continue;
    delete st.orders.reservations[id];
    keys.push(`${RESERVATION_PREFIX}${id}`);
    if (st.view && !moveReservationInView(st.view, r, r.qty, 0)) st.view = null;
  }
  return keys;
}

/** Drop expired reservations, old approvals and client ids, and long-expired decisions. */
export function prune(st: GovernorState, storage: DurableObjectStorage, now: number): void {
  const expired = dropReservations(st, (r) => r.expiresAtMs <= now);
  // Approvals are pushed in time order: drop the head that left the window.
  let drop = 0;
  while (drop < st.orders.approvals.length && st.orders.approvals[drop]! <= now - RATE_WINDOW_MS) drop++;
  if (drop > 0) st.orders.approvals.splice(0, drop);
  for (const [id, t] of st.clientIds) {
    if (t > now - CLIENT_ID_TTL_MS) break;
    st.clientIds.delete(id);
    void storage.delete(`cid:${id}`);
  }
  void deleteKeys(storage, expired);
  for (const [id, d] of st.decisions) {
    if (Date.parse(d.decision.expiresAt) > now - DECISION_KEEP_MS) break;
    st.decisions.delete(id);
    void storage.delete(`decision:${id}`);
  }
}

/** The mark a decision was taken against, as the audit chain keeps it (its age is what the soak measures). */
function markSeen(
  portfolio: PortfolioState,
  intent: OrderIntent,
  now: number,
): { price: string | null; observedAt: string; ageMs: number } | null {
  const mark = portfolio.marks[marketKey(intent.venue, intent.market)];
  if (!mark || !Number.isFinite(mark.observedAtMs)) return null;
  return {
    price: mark.price === null ? null : formatDollars(mark.price, 4, "trunc"),
    observedAt: new Date(mark.observedAtMs).toISOString(),
    ageMs: now - mark.observedAtMs,
  };
}
