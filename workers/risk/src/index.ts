import { WorkerEntrypoint } from "cloudflare:workers";
import {
  ApprovalReceipt,
  type AuditWatchOutcome,
  type BreakerStatus,
  type BreakerTransitionRecord,
  BreakerTransitionRequest,
  CapitalChange,
  type CapitalView,
  type ConsumedDecision,
  DecisionQuery,
  type DecisionSummary,
  ErrorCode,
  type EvaluationAnswer,
  EvaluationMode,
  err,
  FailureKind,
  type FillOutcome,
  FillReport,
  type HealthReport,
  type HeldMarkAnswer,
  MAX_FILLS_PER_BATCH,
  MarketId,
  MarkUpdate,
  OrderIntent,
  ok,
  PageLimit,
  Principal,
  type Result,
  type RiskDecision,
  type RiskDryRun,
  type RiskExposure,
  RiskLimits,
  type RiskLimitsView,
  type RiskMonitorStats,
  type RiskRpc,
  systemPrincipal,
  Venue,
} from "@paulp/contracts";
import { parseArgs, rpc, runHealthChecks, serve } from "@paulp/kit";
import * as v from "valibot";
import { watchAuditIntegrity } from "./audit-watch";
import type { Env } from "./env";
import type { TwoPersonChange } from "./redeem";
import type { StateChange } from "./risk-governor";

export { CircuitBreaker } from "./circuit-breaker";
export { RiskGovernor } from "./risk-governor";

const RISK_ACTOR = systemPrincipal("risk");
const ReceiptRef = v.optional(ApprovalReceipt);
const Marks = v.pipe(v.array(MarkUpdate), v.maxLength(5000));
const Fills = v.pipe(v.array(FillReport), v.maxLength(MAX_FILLS_PER_BATCH));
const EndedOrders = v.pipe(
  v.array(OrderIntent.entries.clientOrderId),
  v.minLength(1),
  v.maxLength(MAX_FILLS_PER_BATCH),
);
const DecisionId = v.pipe(v.string(), v.regex(/^rd_[A-Za-z0-9_-]{10,40}$/, "not a decision id"));
const IntentHash = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, "must be a lowercase hex SHA-256"));
const Detail = v.pipe(v.string(), v.maxLength(500));
const HistoryLimit = v.optional(PageLimit, 100);

/** The risk worker's RPC surface: thin; the Durable Objects and the plain modules do the work. */
export class RiskEntrypoint extends WorkerEntrypoint<Env> implements RiskRpc {
  private governor() {
    return this.env.RISK_GOVERNOR.getByName("portfolio");
  }

  private breaker() {
    return this.env.CIRCUIT_BREAKER.getByName("breaker");
  }

  async health(): Promise<HealthReport> {
    return runHealthChecks("risk", {
      risk_governor: async () => this.governor().ping(),
      circuit_breaker: async () => this.breaker().ping(),
    });
  }

  /** A loss-limit breach found by the governor sends the breaker to HALT before the answer goes back. */
  private async settle<T>(result: Result<StateChange<T>>): Promise<Result<T>> {
    if (!result.ok) return result;
    if (result.value.breach) {
      const halted = (await this.breaker().haltFor(
        `${result.value.breach} limit breached`,
        RISK_ACTOR,
      )) as Result<BreakerStatus>;
      if (!halted.ok)
        return err(halted.error.code, `loss limit breached but HALT failed: ${halted.error.message}`);
    }
    return ok(result.value.value);
  }

  /** One method, three modes (see `EvaluationMode`); the mode is validated with the intent and the actor. */
  async evaluate<M extends EvaluationMode>(
    intent: OrderIntent,
    actor: Principal,
    mode: M,
  ): Promise<Result<EvaluationAnswer[M]>> {
    const input = parseArgs([OrderIntent, Principal, EvaluationMode], [intent, actor, mode]);
    if (!input.ok) return input;
    const [i, a, m] = input.value;
    // The mode was checked above, so the answer is the one `mode` names (TypeScript cannot follow a generic
    // through the switch in `evaluateAs`).
    return rpc(async () => this.evaluateAs(i, a, m), { what: `evaluate(${m})` }) as Promise<
      Result<EvaluationAnswer[M]>
    >;
  }

  private async evaluateAs(
    intent: OrderIntent,
    actor: Principal,
    mode: EvaluationMode,
  ): Promise<Result<EvaluationAnswer[EvaluationMode]>> {
    if (mode === "dry_run") {
      const breaker = await this.breaker().status();
      // A dry run does not act, not even on a breach it sees (fills and marks already sent the breaker to HALT).
      const result = (await this.governor().evaluate(intent, actor, breaker.state, "dry_run")) as Result<
        StateChange<RiskDryRun>
      >;
      return result.ok ? ok(result.value.value) : result;
    }
    const decided = await this.decide(intent, actor, mode);
    if (mode === "decide_and_consume" || !decided.ok) return decided;
    return ok(decided.value.decision);
  }

  /** The breaker is read first because the evaluation depends on its state (HALT denies opening orders). */
  private async decide(
    intent: OrderIntent,
    actor: Principal,
    mode: Exclude<EvaluationMode, "dry_run">,
  ): Promise<Result<ConsumedDecision>> {
    const breaker = await this.breaker().status();
    const result = (await this.governor().evaluate(intent, actor, breaker.state, mode)) as Result<
      StateChange<RiskDecision>
    >;
    if (!result.ok && result.error.code === ErrorCode.auditUnavailable) {
      await this.breaker().reportFailure("audit_failure", result.error.message, RISK_ACTOR);
    }
    // Risk could not evaluate at all (its own stored state is unusable, e.g. limits that do not parse): every
    // order is denied, and the breaker hears of it as the invariant violation it is.
    if (!result.ok && result.error.code === ErrorCode.internal) {
      await this.breaker().reportFailure("invariant_violation", result.error.message, RISK_ACTOR);
    }
    const settled = await this.settle(result);
    if (!settled.ok) return settled;
    // An approval to consume waited in the governor's queue behind others (each awaiting its audit append):
    // a HALT set meanwhile must still stop an opening order, so the breaker is read again before answering.
    let now = breaker;
    if (
      mode === "decide_and_consume" &&
      settled.value.approved &&
      (intent.effect === "open" || intent.effect === "increase")
    ) {
      now = await this.breaker().status();
      if (now.state === "HALT")
        return err(
          ErrorCode.breakerHalted,
          "breaker moved to HALT while this order was evaluated: opening orders may not be sent",
        );
    }
    return ok({ decision: settled.value, breaker: { state: now.state, version: now.version } });
  }

  /**
   * The breaker read and the governor's claim run concurrently (one hop instead of two in a row). The read
   * starts when this call does, so a HALT already set (in memory, hence also once durable) when the consume
   * arrives is seen, and an opening decision is refused `breaker_halted`; it has been marked used by then
   * (burned, never approved). A HALT landing during the call may or may not be seen, as before.
   */
  async consume(decisionId: string, intentHash: string): Promise<Result<ConsumedDecision>> {
    return serve({ what: "consume" }, [DecisionId, IntentHash], [decisionId, intentHash], async (d, h) => {
      const [breaker, claimed] = await Promise.all([
        this.breaker().status(),
        this.governor().claim(d, h) as Promise<Result<{ decision: RiskDecision; opensRisk: boolean }>>,
      ]);
      if (!claimed.ok) return claimed;
      if (breaker.state === "HALT" && claimed.value.opensRisk)
        return err(ErrorCode.breakerHalted, "breaker is HALT: opening orders may not be sent");
      return ok({
        decision: claimed.value.decision,
        breaker: { state: breaker.state, version: breaker.version },
      });
    });
  }

  async recordFills(fills: FillReport[]): Promise<Result<{ fills: FillOutcome[] }>> {
    return serve({ what: "recordFills" }, [Fills], [fills], async (f) =>
      this.settle(await this.governor().recordFills(f)),
    );
  }

  async releaseReservations(clientOrderIds: string[]): Promise<Result<{ released: number }>> {
    return serve({ what: "releaseReservations" }, [EndedOrders], [clientOrderIds], async (ids) =>
      ok(await this.governor().releaseReservations(ids)),
    );
  }

  async recordMarks(marks: MarkUpdate[]): Promise<Result<{ applied: number }>> {
    return serve({ what: "recordMarks" }, [Marks], [marks], async (m) =>
      this.settle(await this.governor().recordMarks(m)),
    );
  }

  async getMark(venue: Venue, market: string): Promise<Result<HeldMarkAnswer>> {
    const input = parseArgs([Venue, MarketId], [venue, market]);
    if (!input.ok) return input;
    const [vn, m] = input.value;
    return rpc(async () => this.governor().getMark(vn, m), { what: "getMark" });
  }

  async exposure(): Promise<Result<RiskExposure>> {
    return rpc(
      async () => {
        const breaker = await this.breaker().status();
        return this.governor().exposure(breaker.state);
      },
      { what: "exposure" },
    );
  }

  async reportFailure(kind: FailureKind, detail: string, actor: Principal): Promise<Result<BreakerStatus>> {
    return serve(
      { what: "reportFailure" },
      [FailureKind, Detail, Principal],
      [kind, detail, actor],
      async (k, d, a) => this.breaker().reportFailure(k, d, a),
    );
  }

  async reportSuccess(kind: FailureKind): Promise<Result<BreakerStatus>> {
    return serve({ what: "reportSuccess" }, [FailureKind], [kind], async (k) =>
      this.breaker().reportSuccess(k),
    );
  }

  async getBreaker(): Promise<Result<BreakerStatus>> {
    return rpc(async () => ok(await this.breaker().status()), { what: "getBreaker" });
  }

  async breakerHistory(limit?: number): Promise<Result<{ transitions: BreakerTransitionRecord[] }>> {
    return serve({ what: "breakerHistory" }, [HistoryLimit], [limit], async (l) =>
      ok({ transitions: await this.breaker().transitions(l) }),
    );
  }

  async recentDecisions(query: DecisionQuery): Promise<Result<{ decisions: DecisionSummary[] }>> {
    return serve({ what: "recentDecisions" }, [DecisionQuery], [query ?? {}], async (q) =>
      ok({ decisions: await this.governor().recentDecisions(q) }),
    );
  }

  /** One read of everything monitoring needs; exposure is null while the stored limits do not parse. */
  async monitorStats(): Promise<Result<RiskMonitorStats>> {
    return rpc(
      async () => {
        const [breaker, transitions, governor] = await Promise.all([
          this.breaker().status(),
          this.breaker().transitionTotals(),
          this.governor().monitorStats(),
        ]);
        const exposure = (await this.governor().exposure(breaker.state)) as Result<RiskExposure>;
        return ok({
          decisions: governor.decisions,
          breaker,
          transitions,
          heldMarks: governor.heldMarks,
          exposure: exposure.ok ? exposure.value : null,
        });
      },
      { what: "monitorStats" },
    );
  }

  async transitionBreaker(
    ...asked: TwoPersonChange<BreakerTransitionRequest>
  ): Promise<Result<BreakerStatus>> {
    return this.serveChange("transitionBreaker", BreakerTransitionRequest, asked, (parsed) =>
      this.breaker().transition(...parsed),
    );
  }

  async getLimits(): Promise<Result<RiskLimitsView>> {
    return rpc(async () => ok(await this.governor().getLimits()), { what: "getLimits" });
  }

  async updateLimits(...asked: TwoPersonChange<RiskLimits>): Promise<Result<RiskLimitsView>> {
    return this.serveChange("updateLimits", RiskLimits, asked, (parsed) =>
      this.governor().updateLimits(...parsed),
    );
  }

  async setCapital(...asked: TwoPersonChange<CapitalChange>): Promise<Result<CapitalView>> {
    return this.serveChange("setCapital", CapitalChange, asked, (parsed) =>
      this.governor().setCapital(...parsed),
    );
  }

  /**
   * A two-person change's arguments checked in order (the change against `schema`, the actor, the receipt if
   * any: the first failure is the answer), then `apply` on what they parsed to. Whether a receipt is needed is
   * the Durable Object's to say (`approval_required`).
   */
  private serveChange<S extends v.GenericSchema, R>(
    what: string,
    schema: S,
    [change, actor, receipt]: TwoPersonChange<unknown>,
    apply: (parsed: TwoPersonChange<v.InferOutput<S>>) => Promise<Result<R>>,
  ): Promise<Result<R>> {
    return serve({ what }, [schema, Principal, ReceiptRef], [change, actor, receipt], (c, a, rc) =>
      apply([c, a, rc]),
    );
  }

  /** Run the audit integrity watch now (the cron's work); answers what the chain said. */
  async watchAudit(): Promise<Result<AuditWatchOutcome>> {
    const actor = systemPrincipal("cron:risk-audit-watch");
    return rpc(
      async () =>
        ok(
          await watchAuditIntegrity(
            {
              // Each through rpc(): a throw is an unavailable chain (never "intact"), and the answer is released.
              verify: () =>
                rpc(this.env.AUDIT, (audit) => audit.verify({ mode: "incremental", actor }), {
                  what: "audit.verify",
                  code: ErrorCode.auditUnavailable,
                }),
              status: () =>
                rpc(this.env.AUDIT, (audit) => audit.status(), {
                  what: "audit.status",
                  code: ErrorCode.auditUnavailable,
                }),
              receipts: () => this.governor().receiptSample(),
              checkReceipts: (receipts) =>
                rpc(this.env.AUDIT, (audit) => audit.checkReceipts(receipts, actor), {
                  what: "audit.checkReceipts",
                  code: ErrorCode.auditUnavailable,
                }),
              reportFailure: (kind, detail, who) => this.reportFailure(kind, detail, who),
              reportSuccess: (kind) => this.reportSuccess(kind),
            },
            actor,
          ),
        ),
      { what: "watchAudit" },
    );
  }

  /** "*\/5 * * * *": verify the audit chain and tell the breaker (spec: monitor audit chain gaps). */
  override async scheduled(_controller: ScheduledController): Promise<void> {
    const r = await this.watchAudit();
    if (!r.ok) console.error("audit watch failed", r.error.code, r.error.message);
    else if (r.value.verdict !== "intact") console.error(`audit watch: ${r.value.verdict}`);
  }
}

export default RiskEntrypoint;
