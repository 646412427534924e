import { DurableObject } from "cloudflare:workers";
import type { ApiError, ApprovalAction, ApprovalView, JsonValue, Principal, Result } from "@paulp/contracts";
import { ErrorCode, err, ok, systemPrincipal } from "@paulp/contracts";
import { auditAppend } from "@paulp/kit";
import { rosterOf } from "./approvals";
import { type DeskConfig, deskConfig } from "./config";
import type { Decision, DeskStep, DeskStepName, RefusalContext, RequestRecord } from "./desk";
import {
  checkOpen,
  decideApprove,
  decideCancel,
  decideReject,
  expiryDue,
  openRequest,
  personOf,
  toView,
} from "./desk";
import { auditRefusal } from "./desk-client";
import { decideRedeem, decideReissue, decideReturn } from "./desk-receipts";
import type { Env } from "./env";
import { contextAt } from "./operation-support";
import { endedGoLive } from "./strategy-ops";

const KEY = (id: string) => `req:${id}`;
const DESK_ACTOR = systemPrincipal("governance:desk");

/**
 * Serialises two-person approvals. Every mutation runs inside `blockConcurrencyWhile`: read the record (and
 * the action's roster), decide (pure, see desk.ts), append to the audit chain, then write. The audit append is
 * an RPC await, so the input gate alone would let a second approval interleave; blocking concurrency for the
 * whole step is what makes two approvals racing at the threshold mint exactly one receipt. Hashes (payload,
 * receipt token) are computed by the caller before it gets here. Every refusal is audited too
 * (`governance.approval_refused`, outcome `denied`, with its reason).
 */
export class ApprovalDesk extends DurableObject<Env> {
  async ping(): Promise<string> {
    return "pong";
  }

  async open(
    input: {
      requestId: string;
      action: ApprovalAction;
      payload: JsonValue;
      payloadHash: string;
      requester: Principal;
    },
    now: number,
  ): Promise<Result<ApprovalView>> {
    return this.timed(async (config) => {
      const about = { step: "open", requestId: null, action: input.action, actor: input.requester } as const;
      const requester = personOf(input.requester);
      if (!requester)
        return this.refuse(
          {
            code: ErrorCode.forbidden,
            message: "only a verified person (Cloudflare Access) can request a two-person action",
          },
          undefined,
          about,
        );
      if (await this.ctx.storage.get(KEY(input.requestId)))
        return err(ErrorCode.conflict, "request id already used");
      const roster = await rosterOf(this.env, input.action, now);
      if (!roster.ok) return this.refuse(roster.error, undefined, about);
      const closed = checkOpen(roster.value.approvers, requester, input.action);
      if (closed) return this.refuse(closed, undefined, about);
      const step = openRequest({ ...input, requester, now, ttlMs: config.ttlMs });
      return this.commit(step, input.requester);
    });
  }

  async approve(
    requestId: string,
    actor: Principal,
    now: number,
    tokenHash: string,
  ): Promise<Result<{ view: ApprovalView; receiptIssued: boolean }>> {
    return this.timed(async (config) => {
      const record = await this.load(requestId);
      if (!record) return err(ErrorCode.notFound, `no approval request ${requestId}`);
      const about = { step: "approve", requestId, action: record.action, actor } as const;
      // The roster as it stands now: someone taken off it since the request opened can no longer approve.
      const roster = await rosterOf(this.env, record.action, now);
      if (!roster.ok) return this.refuse(roster.error, expiryDue(record, now) ?? undefined, about);
      const decision = decideApprove(
        record,
        actor,
        now,
        config.executeWindowMs,
        tokenHash,
        roster.value.approvers,
      );
      if (!decision.ok) return this.refuse(decision.error, decision.expired, about);
      const committed = await this.commit(decision.step, actor);
      if (!committed.ok) return committed;
      return ok({ view: committed.value, receiptIssued: decision.receiptIssued === true });
    });
  }

  /**
   * Close an open request with a reason: an approver's "reject", or "cancel" because what it concerns moved on
   * (see decideReject and decideCancel; the transition table tells them apart).
   */
  async close(
    requestId: string,
    how: "reject" | "cancel",
    actor: Principal,
    reason: string,
    now: number,
  ): Promise<Result<ApprovalView>> {
    const decide = how === "reject" ? decideReject : decideCancel;
    return this.step(requestId, how, actor, (record) => decide(record, actor, reason, now));
  }

  async reissue(
    requestId: string,
    actor: Principal,
    now: number,
    tokenHash: string,
  ): Promise<Result<ApprovalView>> {
    return this.step(requestId, "reissue", actor, (record) => decideReissue(record, actor, now, tokenHash));
  }

  async returnReceipt(
    requestId: string,
    claim: { tokenHash: string; reason: string; actor: Principal },
    now: number,
  ): Promise<Result<ApprovalView>> {
    return this.step(requestId, "return", claim.actor, (record) => decideReturn(record, claim, now));
  }

  async redeem(
    requestId: string,
    claim: { tokenHash: string; action: ApprovalAction; payloadHash: string; actor: Principal },
    now: number,
  ): Promise<Result<{ view: ApprovalView; approvers: string[]; requestedBy: string }>> {
    return this.serial(async () => {
      const record = await this.load(requestId);
      const about = { step: "redeem", requestId, action: claim.action, actor: claim.actor } as const;
      if (!record)
        return this.refuse(
          { code: ErrorCode.approvalRequired, message: "receipt refused: unknown request" },
          undefined,
          about,
        );
      const decision = decideRedeem(record, claim, now);
      if (!decision.ok) return this.refuse(decision.error, decision.expired, about);
      const committed = await this.commit(decision.step, claim.actor);
      if (!committed.ok) return committed;
      return ok({
        view: committed.value,
        approvers: record.approvals.map((a) => a.approver.email),
        requestedBy: record.requestedBy.email,
      });
    });
  }

  /** A request as it stands now (an overdue expiry shows as expired even before the alarm records it). */
  async get(requestId: string, now: number): Promise<Result<ApprovalView>> {
    const record = await this.load(requestId);
    if (!record) return err(ErrorCode.notFound, `no approval request ${requestId}`);
    return ok(toView(expiryDue(record, now)?.next ?? record));
  }

  async list(status: ApprovalView["status"] | undefined, now: number): Promise<Result<ApprovalView[]>> {
    const rows = await this.ctx.storage.list<RequestRecord>({ prefix: "req:" });
    const views = [...rows.values()]
      .map((r) => toView(expiryDue(r, now)?.next ?? r))
      .filter((v) => !status || v.status === status)
      .sort((a, b) => (a.requestedAt < b.requestedAt ? 1 : -1));
    return ok(views);
  }

  /** Records overdue expiries in the audit chain (lazy expiry on touch covers the gap before it runs). */
  override async alarm(): Promise<void> {
    await this.serial(async () => {
      const now = Date.now();
      const rows = await this.ctx.storage.list<RequestRecord>({ prefix: "req:" });
      for (const record of rows.values()) {
        const step = expiryDue(record, now);
        // A failed audit leaves the record as it was; the next touch or alarm retries the expiry.
        if (step) await this.commit(step, DESK_ACTOR);
        else await this.scheduleAlarm(record);
      }
      return ok(null);
    });
  }

  /** One step on a stored request: load, decide (pure), then commit it or refuse (both audited). */
  private step(
    requestId: string,
    step: DeskStepName,
    actor: Principal,
    decide: (record: RequestRecord) => Decision,
  ): Promise<Result<ApprovalView>> {
    return this.serial(async () => {
      const record = await this.load(requestId);
      if (!record) return err(ErrorCode.notFound, `no approval request ${requestId}`);
      const decision = decide(record);
      if (!decision.ok)
        return this.refuse(decision.error, decision.expired, {
          step,
          requestId,
          action: record.action,
          actor,
        });
      return this.commit(decision.step, actor);
    });
  }

  private async load(requestId: string): Promise<RequestRecord | undefined> {
    return this.ctx.storage.get<RequestRecord>(KEY(requestId));
  }

  /**
   * Audit first; only an acknowledged append lets the step be stored (fail closed). A go-live request that
   * expires takes its strategy back out of pending_live (see `endedGoLive`).
   */
  private async commit(step: DeskStep, actor: Principal): Promise<Result<ApprovalView>> {
    const audited = await auditAppend(this.env.AUDIT, {
      type: step.event.type,
      service: "governance",
      actor,
      payload: step.event.payload,
    });
    if (!audited.ok) return err(ErrorCode.auditUnavailable, `step not taken: ${audited.error.message}`);
    await this.ctx.storage.put(KEY(step.next.requestId), step.next);
    await this.scheduleAlarm(step.next);
    const view = toView(step.next);
    if (step.next.status === "expired") {
      // A failure here leaves the strategy pending_live on a dead request: it can still be moved by hand.
      const back = await endedGoLive({ ...contextAt(this.env, Date.now), actor: DESK_ACTOR }, view);
      if (!back.ok) console.error(`expired go-live ${view.requestId}: ${back.error.message}`);
    }
    return ok(view);
  }

  /**
   * A refused step, audited (`governance.approval_refused`, outcome `denied`, with the reason) so that who
   * tried what, and why the desk said no, is in the chain. The refusal stands even if that append fails. If
   * the refusal is because the request ran out of time, the expiry is recorded too.
   */
  private async refuse<T>(
    error: ApiError,
    expired: DeskStep | undefined,
    about: RefusalContext & { actor: Principal },
  ): Promise<Result<T>> {
    if (expired) await this.commit(expired, DESK_ACTOR);
    await auditRefusal(this.env, about, about.actor, error);
    return { ok: false, error };
  }

  private async scheduleAlarm(record: RequestRecord): Promise<void> {
    const due =
      record.status === "pending" ? record.expiresAt : record.status === "approved" ? record.executeBy : null;
    if (due === null) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || due < current) await this.ctx.storage.setAlarm(due);
  }

  /** A step that reads the desk's timing (TTL, execute window): refused while it is misconfigured, else serial. */
  private timed<T>(fn: (config: DeskConfig) => Promise<Result<T>>): Promise<Result<T>> {
    const config = deskConfig(this.env);
    if (!config)
      return Promise.resolve(
        err<T>(
          ErrorCode.serviceUnavailable,
          "desk misconfigured: APPROVAL_TTL_SECONDS / EXECUTE_WINDOW_SECONDS",
        ),
      );
    return this.serial(() => fn(config));
  }

  private serial<T>(fn: () => Promise<Result<T>>): Promise<Result<T>> {
    // A throw inside blockConcurrencyWhile resets the object; turn it into a failed result instead.
    return this.ctx.blockConcurrencyWhile(async () => {
      try {
        return await fn();
      } catch (error) {
        return err<T>(ErrorCode.internal, `desk step failed: ${(error as Error).message}`);
      }
    });
  }
}
