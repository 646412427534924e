import { DurableObject } from "cloudflare:workers";
import {
  type AppliedApproval,
  type ApprovalReceiptRef,
  type AuditEvent,
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
  type BreakerRecord,
  checkTransition,
  countFailure,
  countSuccess,
  initialBreaker,
  parseThresholds,
  type Thresholds,
  withTransition,
} from "@paulp/risk-rules";
import type { Env } from "./env";
import { redeemApproval } from "./redeem";

/** A breaker transition as the chain records it (kept in the outbox until appended). */
type BreakerAuditEvent = AuditEvent<"risk", "risk.breaker_transition">;

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
  private record!: BreakerRecord;
  private outbox: BreakerAuditEvent[] = [];
  /** The newest transitions (oldest first) and every transition counted by `FROM->TO`. */
  private history: BreakerTransitionRecord[] = [];
  private transitionCounts: Record<string, number> = {};
  private readonly queue = new SerialQueue();
  private readonly thresholds: Thresholds;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.thresholds = parseThresholds(env.BREAKER_THRESHOLDS);
    ctx.blockConcurrencyWhile(async () => {
      this.record =
        (await ctx.storage.get<BreakerRecord>("breaker")) ?? initialBreaker(new Date().toISOString());
      this.outbox = (await ctx.storage.get<BreakerAuditEvent[]>("outbox")) ?? [];
      this.history = (await ctx.storage.get<BreakerTransitionRecord[]>("history")) ?? [];
      this.transitionCounts = (await ctx.storage.get<Record<string, number>>("transition_counts")) ?? {};
    });
  }

  async ping(): Promise<string> {
    return this.record.state;
  }

  /** The current status. */
  async status(): Promise<BreakerStatus> {
    return this.view();
  }

  /** The newest transitions, newest first. */
  async transitions(limit: number): Promise<BreakerTransitionRecord[]> {
    return this.history.slice(-limit).reverse();
  }

  /** Every transition so far, counted by `FROM->TO`. */
  async transitionTotals(): Promise<Record<string, number>> {
    return { ...this.transitionCounts };
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
      const current = this.record;
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
      const { record, target } = countFailure(this.record, kind, this.thresholds);
      this.record = record;
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
      this.record = countSuccess(this.record, kind);
      await this.ctx.storage.put("breaker", this.record);
      return ok(this.view());
    });
  }

  /** HALT on a loss-limit breach found by the governor; a no-op when already halted. */
  async haltFor(reason: string, actor: Principal): Promise<Result<BreakerStatus>> {
    return this.queue.run(async () => {
      await this.flushOutbox();
      if (this.record.state === "HALT") return ok(this.view());
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
    const from = this.record;
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
    const kept = withTransition(this.history, this.transitionCounts, {
      from: from.state,
      to: next.state,
      version: next.version,
      at: next.since,
      reason,
      trigger,
      changedBy: next.changedBy,
    });
    const commit = async () => {
      this.record = next;
      this.history = kept.history;
      this.transitionCounts = kept.counts;
      await this.ctx.storage.put({ breaker: next, history: kept.history, transition_counts: kept.counts });
    };
    if (TIGHTENING.has(target)) {
      await commit();
      // Behind earlier transitions still waiting for the chain, so the chain records them in order.
      const appended =
        this.outbox.length === 0 ? await auditAppend(this.env.AUDIT, event) : { ok: false as const };
      if (!appended.ok) {
        this.outbox.push(event);
        await this.ctx.storage.put("outbox", this.outbox);
        await this.armOutboxRetry();
      } else this.anchorSoon(actor);
      return ok(this.view());
    }
    if (this.outbox.length > 0)
      return err(
        ErrorCode.auditUnavailable,
        `transition not applied: ${this.outbox.length} earlier transition(s) are not yet in the audit chain`,
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
    while (this.outbox.length > 0) {
      const appended = await auditAppend(this.env.AUDIT, this.outbox[0]!);
      if (!appended.ok) break;
      this.outbox.shift();
      flushed = true;
      await this.ctx.storage.put("outbox", this.outbox);
    }
    if (flushed) this.anchorSoon(RISK_SYSTEM);
    return this.outbox.length === 0;
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
    const r = this.record;
    const thresholds: Record<string, number> = {};
    const cautionThresholds: Record<string, number> = {};
    for (const [kind, t] of Object.entries(this.thresholds)) {
      thresholds[kind] = t.halt;
      cautionThresholds[kind] = t.caution;
    }
    return {
      state: r.state,
      version: r.version,
      since: r.since,
      reason: r.reason,
      changedBy: r.changedBy,
      consecutiveFailures: { ...r.consecutiveFailures } as Record<string, number>,
      thresholds,
      cautionThresholds,
    };
  }
}
