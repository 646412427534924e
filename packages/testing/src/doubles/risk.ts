// Risk's double: decisions are minted by evaluate (approving unless told to deny) or planted by tests; consume
// checks them as risk does (unknown, denied, used, expired, another intent; an opening one refused in HALT).
import {
  type BreakerState,
  type BreakerStatus,
  type ConsumedDecision,
  DEFAULT_RISK_LIMITS,
  type ErrorCode,
  type EvaluationAnswer,
  type EvaluationMode,
  type FailureKind,
  type FillOutcome,
  type FillReport,
  type HeldMark,
  type HeldMarkAnswer,
  type MarkUpdate,
  type OrderIntent,
  type Principal,
  type Result,
  type RiskDecision,
  type RiskLimitsView,
  type RiskRpc,
  type Venue,
} from "@paulp/contracts";
import { doubleOf, err, hashOfSeq, intentHash, Ledger, ok } from "./ledger";

export interface RiskDoubleState {
  decisions: Map<string, { decision: RiskDecision; used: boolean; opening: boolean }>;
  breaker: BreakerState;
  /** Every decision is a denial. */
  deny: boolean;
  /** evaluate(…, "decide_and_consume") answers this error code. */
  decideError: ErrorCode | null;
  /** A HALT that does not refuse an opening consume (a broken risk, to show the caller's own check). */
  leakHalt: boolean;
  /** recordFills and releaseReservations answer `service_unavailable`. */
  failFills: boolean;
  /** Each fill refused on its own (its outcome carries an error), the call itself fine. */
  refuseFills: boolean;
  /** A recordFills call of more than one fill is refused whole (`validation_failed`). */
  refuseBatches: boolean;
  /** Every call answers `service_unavailable` (a risk worker that is down). */
  failing: boolean;
  /** What getLimits answers. */
  limits: RiskLimitsView;
  /** The marks recordMarks was given (the newest observation per market), as getMark answers them. */
  marks: Map<string, HeldMark>;
  seq: number;
}

const fresh = (): RiskDoubleState => ({
  decisions: new Map(),
  breaker: "NORMAL",
  deny: false,
  decideError: null,
  leakHalt: false,
  failFills: false,
  refuseFills: false,
  refuseBatches: false,
  failing: false,
  limits: {
    version: 1,
    // The specification's defaults (security guide: 5/10/15/30/3/10 %), as risk starts with them.
    limits: { ...DEFAULT_RISK_LIMITS },
    updatedAt: "",
    updatedBy: "test",
  },
  marks: new Map(),
  seq: 0,
});
const ledger = new Ledger(fresh);
const down = <T>(): Result<T> => err("service_unavailable", "risk double told to fail");

function breaker(): BreakerStatus {
  return {
    state: ledger.state.breaker,
    version: 1,
    since: new Date().toISOString(),
    reason: "",
    changedBy: "test",
    consecutiveFailures: {},
    thresholds: {},
    cautionThresholds: {},
  };
}

type Doubled = Pick<
  RiskRpc,
  | "health"
  | "evaluate"
  | "consume"
  | "getBreaker"
  | "recordFills"
  | "releaseReservations"
  | "recordMarks"
  | "reportFailure"
  | "reportSuccess"
  | "getLimits"
  | "getMark"
>;

export default class RiskDouble extends doubleOf("risk", ledger) implements Doubled {
  /**
   * As the real risk: `decide` mints a decision to consume later, `decide_and_consume` marks an approval used in
   * the same step and answers the breaker with it, `dry_run` stores nothing. A deciding-and-consuming call is
   * holdable: a test can keep an order deciding (`_hold("evaluate")`, `_arrivals("deciding", n)`) while it changes
   * something, then `_release()`.
   */
  async evaluate<M extends EvaluationMode>(
    intent: OrderIntent,
    actor: Principal,
    mode: M,
  ): Promise<Result<EvaluationAnswer[M]>> {
    const s = ledger.state;
    if (mode === "decide_and_consume") {
      ledger.record("deciding", { intent });
      await ledger.gate("evaluate");
      if (s.decideError) return err(s.decideError, "risk double told to fail deciding");
    }
    if (s.failing) return down();
    const seq = ++s.seq;
    const decision: RiskDecision = {
      decisionId: `dec-${seq}`,
      approved: !s.deny,
      reasons: s.deny
        ? [{ code: "POSITION_LIMIT_EXCEEDED", message: "POSITION_LIMIT_EXCEEDED: double denial" }]
        : [],
      limitsVersion: 1,
      breakerState: s.breaker,
      intentHash: await intentHash(intent),
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
      auditSeq: seq,
      auditHash: hashOfSeq(seq),
    };
    ledger.record("evaluate", { mode, intent, actor, decisionId: decision.decisionId });
    const answer = (a: EvaluationAnswer[EvaluationMode]) => ok(a as EvaluationAnswer[M]);
    if (mode === "dry_run") {
      const { approved, reasons, limitsVersion, breakerState, intentHash: hash } = decision;
      return answer({ dryRun: true, approved, reasons, limitsVersion, breakerState, intentHash: hash });
    }
    const opening = intent.effect === "open" || intent.effect === "increase";
    const used = mode === "decide_and_consume" && decision.approved;
    s.decisions.set(decision.decisionId, { decision, used, opening });
    if (mode === "decide") return answer(decision);
    return answer({ decision, breaker: { state: s.breaker, version: 1 } });
  }
  /** As the real risk: consume, read the breaker in the same call, refuse an opening decision in HALT. */
  async consume(decisionId: string, hash: string): Promise<Result<ConsumedDecision>> {
    ledger.record("consume", { decisionId, hash });
    const s = ledger.state;
    if (s.failing) return down();
    const d = s.decisions.get(decisionId);
    if (!d) return err("not_found", `no decision ${decisionId}`);
    if (!d.decision.approved) return err("risk_denied", "decision was a denial");
    if (d.used) return err("conflict", "decision already used");
    if (Date.parse(d.decision.expiresAt) <= Date.now()) return err("conflict", "decision expired");
    if (d.decision.intentHash !== hash) return err("conflict", "decision approved a different intent");
    d.used = true;
    if (s.breaker === "HALT" && d.opening && !s.leakHalt)
      return err("breaker_halted", "breaker is HALT: opening orders may not be sent");
    return ok({ decision: d.decision, breaker: { state: s.breaker, version: 1 } });
  }
  async getBreaker(): Promise<Result<BreakerStatus>> {
    ledger.record("getBreaker");
    return ledger.state.failing ? down() : ok(breaker());
  }
  async recordFills(fills: FillReport[]): Promise<Result<{ fills: FillOutcome[] }>> {
    const s = ledger.state;
    // refuseBatches: a call carrying more than one fill is refused whole (as risk refuses a batch one malformed
    // fill makes invalid); a call of one fill goes through.
    const refuseBatch = s.refuseBatches && fills.length > 1;
    ledger.record("recordFills", { fills, refused: s.failFills || refuseBatch });
    if (s.failFills || s.failing) return down();
    if (refuseBatch) return err("validation_failed", "risk double refuses batches of more than one fill");
    if (s.refuseFills)
      return ok({ fills: fills.map((f) => ({ fillId: f.fillId, applied: false, error: "double refuses" })) });
    return ok({ fills: fills.map((f) => ({ fillId: f.fillId, applied: true })) });
  }
  async releaseReservations(clientOrderIds: string[]): Promise<Result<{ released: number }>> {
    const s = ledger.state;
    ledger.record("releaseReservations", { clientOrderIds, refused: s.failFills });
    return s.failFills || s.failing ? down() : ok({ released: clientOrderIds.length });
  }
  async recordMarks(marks: MarkUpdate[]): Promise<Result<{ applied: number }>> {
    ledger.record("recordMarks", { marks });
    if (ledger.state.failing) return down();
    for (const m of marks) {
      const key = `${m.venue}:${m.market}`;
      const held = ledger.state.marks.get(key);
      if (held && Date.parse(held.observedAt) > Date.parse(m.observedAt)) continue;
      const { venue, market, price, observedAt, evidenceHash } = m;
      ledger.state.marks.set(key, { venue, market, price, observedAt, evidenceHash });
    }
    return ok({ applied: marks.length });
  }
  async getMark(venue: Venue, market: string): Promise<Result<HeldMarkAnswer>> {
    ledger.record("getMark", { venue, market });
    const s = ledger.state;
    if (s.failing) return down();
    return ok({
      mark: s.marks.get(`${venue}:${market}`) ?? null,
      maxMarkAgeSeconds: s.limits.limits.maxMarkAgeSeconds,
    });
  }
  async reportSuccess(kind: FailureKind): Promise<Result<BreakerStatus>> {
    ledger.record("reportSuccess", { kind });
    return ledger.state.failing ? down() : ok(breaker());
  }
  async reportFailure(kind: FailureKind, detail: string, actor: Principal): Promise<Result<BreakerStatus>> {
    ledger.record("reportFailure", { kind, detail, actor });
    return ledger.state.failing ? down() : ok(breaker());
  }
  async getLimits(): Promise<Result<RiskLimitsView>> {
    ledger.record("getLimits");
    return ledger.state.failing ? down() : ok(ledger.state.limits);
  }

  // ---- test controls beyond the shared ones ----
  /** A decision risk never minted here (expired, for another intent, ...), consumable as if it had. */
  async _plant(decision: RiskDecision, opening = true): Promise<void> {
    ledger.state.decisions.set(decision.decisionId, { decision, used: false, opening });
  }
}
