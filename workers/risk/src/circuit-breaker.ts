import { DurableObject } from "cloudflare:workers";
import {
  type AppliedApproval,
  type ApprovalReceiptRef,
  type BreakerState,
  type BreakerStatus,
  type BreakerTransitionRecord,
  type BreakerTransitionRequest,
  ErrorCode,
  err,
  type FailureKind,
  type JsonValue,
  ok,
  type Principal,
  type Result,
} from "@paulp/contracts";
import { auditAppend, RedeemedButNotApplied, rpc, SerialQueue, settleRedemption } from "@paulp/kit";
import {
  applyTransition,
  checkTransition,
  countFailure,
  countSuccess,
  parseThresholds,
  type Thresholds,
  withTransition,
} from "@paulp/risk-rules";
import { type BreakerAuditEvent, breakerStatus, loadBreaker, type StoredBreaker } from "./breaker-state";
import type { Env } from "./env";
import { redeemApproval } from "./redeem";

const TIGHTENING: ReadonlySet<BreakerState> = new Set(["CAUTION", "HALT"]);

function principalName(p: Principal): string {
  return `${p.method}:${p.subject}`;
}

/**
 * NORMAL → CAUTION → HALT → RECOVERY → NORMAL, one instance ("breaker") for the whole system.
 * Every change runs through one queue, so concurrent transitions end in one consistent, audited state.
 * Tightening (→ CAUTION, → HALT) is applied even when the audit append fails (safety first) and its audit
 * record is kept in an outbox, retried by an alarm and before every operation, in order; loosening is audited
 * before it is applied, and refused while earlier transitions are still waiting for the chain.
 */
/** How often waiting transitions are retried into the audit chain. */
const OUTBOX_RETRY_MS = 15_000;
/** How long the anchor after a transition may take before it is logged as failed (the hourly anchor covers it). */
const ANCHOR_TIMEOUT_MS = 30_000;
/** Who anchors after waiting transitions reach the chain. */
const RISK_SYSTEM: Principal = { method: "system", subject: "risk" };

export class CircuitBreaker extends DurableObject<Env> {
  /** The stored state (breaker-state.ts), loaded once. */
  private st!: StoredBreaker;
  private readonly queue = new SerialQueue();
  private readonly thresholds: Thresholds = parseThresholds(this.env.BREAKER_THRESHOLDS);

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      this.st = await loadBreaker(ctx.storage, Date.now());
    });
  }

  async ping(): Promise<string> {
    return this.st.record.state;
  }

  /** The current status. */
  async status(): Promise<BreakerStatus> {
    return this.view();
  }

  /** The newest transitions, newest first. */
  async transitions(limit: number): Promise<BreakerTransitionRecord[]> {
    return this.st.history.slice(-limit).reverse();
  }

  /** Every transition so far, counted by `FROM->TO`. */
  async transitionTotals(): Promise<Record<string, number>> {
    return { ...this.st.transitionCounts };
  }

  /** An operator's (or the system's) requested transition. */
  async transition(
    request: BreakerTransitionRequest,
    actor: Principal,
    receipt?: ApprovalReceiptRef,
  ): Promise<Result<BreakerStatus>> {
    // A receipt to give back is settled after the queue: a slow return never holds up a HALT.
    const outcome = await this.queue.run(async (): Promise<Result<BreakerStatus> | RedeemedButNotApplied> => {
      await this.flushOutbox();
      const current = this.st.record;
      const target = request.targetState;
      // The approval's payload is exactly the transition request filed with the desk.
      const payload: Record<string, JsonValue> = { targetState: request.targetState, reason: request.reason };
      if (request.expectedVersion !== undefined) payload.expectedVersion = request.expectedVersion;
      // Ending RECOVERY is approved for one RECOVERY only: the approval names its version, so approvals given
      // before a new failure (HALT, then another RECOVERY) cannot skip the new recovery's probes.
      const endsRecovery = current.state === "RECOVERY" && target === "NORMAL";
      if (endsRecovery && request.expectedVersion === undefined) {
        return err(
          receipt ? ErrorCode.validationFailed : ErrorCode.approvalRequired,
          `RECOVERY → NORMAL names the RECOVERY it ends: expectedVersion ${current.version}`,
          {
            state: current.state,
            version: current.version,
            action: "breaker.recovery_to_normal",
            payload: { ...payload, expectedVersion: current.version },
          },
        );
      }
      const refusal = checkTransition(current, target, actor, {
        expectedVersion: request.expectedVersion,
        hasApproval: receipt !== undefined,
      });
      if (refusal) {
        const details: Record<string, JsonValue> = { state: current.state, version: current.version };
        if (refusal.code === "approval_required")
          Object.assign(details, { action: "breaker.recovery_to_normal", payload });
        return err(refusal.code, refusal.message, details);
      }
      let approval: AppliedApproval | null = null;
      if (current.state === "RECOVERY" && target === "NORMAL") {
        const redeemed = await redeemApproval(
          this.env.GOVERNANCE,
          receipt!,
          "breaker.recovery_to_normal",
          payload,
          actor,
        );
        if (!redeemed.ok) return redeemed;
        approval = { ...redeemed.value };
        const applied = await this.apply(target, request.reason, actor, "operator", approval);
        // A loosening is refused before anything is written (audit refused, earlier transitions waiting).
        return applied.ok ? applied : new RedeemedButNotApplied(receipt!, applied.error);
      }
      return this.apply(target, request.reason, actor, "operator", approval);
    });
    return settleRedemption(this.env.GOVERNANCE, actor, outcome);
  }

  /** Count a failure; reaching a threshold (or any failure in RECOVERY) moves the breaker. */
  async reportFailure(kind: FailureKind, detail: string, actor: Principal): Promise<Result<BreakerStatus>> {
    return this.queue.run(async () => {
      await this.flushOutbox();
      const { record, target } = countFailure(this.st.record, kind, this.thresholds);
      this.st.record = record;
      await this.ctx.storage.put("breaker", record);
      if (!target) return ok(this.view());
      const count = record.consecutiveFailures[kind] ?? 0;
      return this.apply(target, `${kind} x${count}: ${detail}`.slice(0, 500), actor, `failure:${kind}`, null);
    });
  }

  /** A success resets that kind's consecutive count. */
  async reportSuccess(kind: FailureKind): Promise<Result<BreakerStatus>> {
    return this.queue.run(async () => {
      await this.flushOutbox();
      this.st.record = countSuccess(this.st.record, kind);
      await this.ctx.storage.put("breaker", this.st.record);
      return ok(this.view());
    });
  }

  /** HALT on a loss-limit breach found by the governor; a no-op when already halted. */
  async haltFor(reason: string, actor: Principal): Promise<Result<BreakerStatus>> {
    return this.queue.run(async () => {
      await this.flushOutbox();
      if (this.st.record.state === "HALT") return ok(this.view());
      return this.apply("HALT", reason, actor, "loss_limit", null);
    });
  }

  private async apply(
    target: BreakerState,
    reason: string,
    actor: Principal,
    trigger: string,
    approval: AppliedApproval | null,
  ): Promise<Result<BreakerStatus>> {
    const from = this.st.record;
    const next = applyTransition(from, target, reason, principalName(actor), new Date().toISOString());
    const event: BreakerAuditEvent = {
      type: "risk.breaker_transition",
      service: "risk",
      actor,
      payload: {
        from: from.state,
        to: next.state,
        version: next.version,
        reason,
        trigger,
        counts: from.consecutiveFailures as Record<string, number>,
        approval,
      },
    };
    const kept = withTransition(this.st.history, this.st.transitionCounts, {
      from: from.state,
      to: next.state,
      version: next.version,
      at: next.since,
      reason,
      trigger,
      changedBy: next.changedBy,
    });
    const commit = async () => {
      this.st.record = next;
      this.st.history = kept.history;
      this.st.transitionCounts = kept.counts;
      await this.ctx.storage.put({ breaker: next, history: kept.history, transition_counts: kept.counts });
    };
    if (TIGHTENING.has(target)) {
      await commit();
      // Behind earlier transitions still waiting for the chain, so the chain records them in order.
      const appended =
        this.st.outbox.length === 0 ? await auditAppend(this.env.AUDIT, event) : { ok: false as const };
      if (!appended.ok) {
        this.st.outbox.push(event);
        await this.ctx.storage.put("outbox", this.st.outbox);
        await this.armOutboxRetry();
      } else this.anchorSoon(actor);
      return ok(this.view());
    }
    if (this.st.outbox.length > 0)
      return err(
        ErrorCode.auditUnavailable,
        `transition not applied: ${this.st.outbox.length} earlier transition(s) are not yet in the audit chain`,
      );
    const appended = await auditAppend(this.env.AUDIT, event);
    if (!appended.ok)
      return err(ErrorCode.auditUnavailable, `transition not applied: ${appended.error.message}`);
    await commit();
    this.anchorSoon(actor);
    return ok(this.view());
  }

  /**
   * A breaker transition is a critical event: anchor the chain now rather than at the next hourly cron,
   * so the transition is fixed in D1_ANCHOR at once. Best effort, after the answer (the transition is
   * already durable and audited); a failure is logged and the hourly anchor covers it.
   */
  private anchorSoon(actor: Principal): void {
    this.ctx.waitUntil(
      // Bounded so a hung chain is logged rather than held open; the anchor signs and writes, hence the room.
      rpc(this.env.AUDIT, (audit) => audit.anchorNow(actor), {
        what: "audit.anchorNow",
        timeoutMs: ANCHOR_TIMEOUT_MS,
        code: ErrorCode.auditUnavailable,
      }).then((r) => {
        if (!r.ok)
          console.error(`anchor after breaker transition failed: ${r.error.code}: ${r.error.message}`);
      }),
    );
  }

  /** Append the waiting transitions, in order; true when none is left. Anchors once something went in. */
  private async flushOutbox(): Promise<boolean> {
    let flushed = false;
    while (this.st.outbox.length > 0) {
      const appended = await auditAppend(this.env.AUDIT, this.st.outbox[0]!);
      if (!appended.ok) break;
      this.st.outbox.shift();
      flushed = true;
      await this.ctx.storage.put("outbox", this.st.outbox);
    }
    if (flushed) this.anchorSoon(RISK_SYSTEM);
    return this.st.outbox.length === 0;
  }

  /** Retry the outbox on its own, so a transition reaches the chain even if nothing else happens. */
  private async armOutboxRetry(): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null)
      await this.ctx.storage.setAlarm(Date.now() + OUTBOX_RETRY_MS);
  }

  override async alarm(): Promise<void> {
    await this.queue.run(async () => {
      if (!(await this.flushOutbox())) await this.ctx.storage.setAlarm(Date.now() + OUTBOX_RETRY_MS);
    });
  }

  private view(): BreakerStatus {
    return breakerStatus(this.st.record, this.thresholds);
  }
}
