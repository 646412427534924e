// Governance operations over the worker's bindings. Each takes the env and the time, validates its
// input, audits before it changes anything (fail closed) and answers a Result.
import {
  type ApiError,
  type ApprovalAction,
  ApprovalAction as ApprovalActionSchema,
  type ApprovalDecision,
  ApprovalRequestInput,
  ApprovalStatus,
  type ApprovalView,
  type ApproverRoster,
  type AuditEventType,
  type AuditPayload,
  type AuditStatus,
  ErrorCode,
  err,
  FreeText,
  isPerson,
  type JsonValue,
  ok,
  type PairAssessment,
  type PairCandidate,
  PairReviewInput,
  type PairView,
  Principal,
  type Result,
  RosterChangePayload,
  type RosterListing,
  StrategyAllocationPayload,
  StrategyCreateInput,
  type StrategyView,
  systemPrincipal,
  type VerifiedApproval,
} from "@paulp/contracts";
import {
  afterReturn,
  auditAppend,
  CanonicalJsonError,
  canonicalHash,
  createEgressFetch,
  type ModelLifecycle,
  modelLifecycle,
  parseArgs,
  parseInput,
  randomId,
  returnReason,
  rpc,
  sha256Hex,
} from "@paulp/kit";
import * as v from "valibot";
import { ACTION_PAYLOADS, PAYLOAD_HASH_DOMAIN, RECEIPT_HASH_DOMAIN, StrategyGoLivePayload } from "./actions";
import { actorLabel } from "./actors";
import { type CallDeps, callForcedTool, DEFAULT_RETRY } from "./anthropic";
import type { ApprovalDesk } from "./approval-desk";
import { personOf, type RefusalContext, refusalPayload } from "./desk";
import type { Env } from "./env";
import { buildAssessmentRequest, holdUnlessTermsAgree, verdictFrom } from "./pair-assessment";
import { ruleOnReview } from "./pair-review";
import * as pairs from "./pairs";
import { checkRoster, configuredRoster } from "./roster";
import * as rosters from "./rosters";
import * as strategies from "./strategies";
import { checkTransition, compareDollars } from "./strategy-lifecycle";

const Id = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/, "must be an id of [A-Za-z0-9_-]"));
const ReceiptRef = v.object({
  requestId: Id,
  receiptToken: v.pipe(v.string(), v.minLength(16), v.maxLength(128)),
});

const Leg = (venue: "kalshi" | "polymarket") =>
  v.object({
    venue: v.literal(venue),
    marketId: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
    title: v.pipe(v.string(), v.maxLength(1000)),
    // Kalshi's rules are its primary and secondary rules joined (each up to 20,000 characters at ingestion).
    rules: v.nullable(v.pipe(v.string(), v.maxLength(41_000))),
    resolutionSource: v.nullable(v.pipe(v.string(), v.maxLength(2000))),
    closeTime: v.nullable(v.pipe(v.string(), v.maxLength(64))),
    evidenceHash: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
    termsHash: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
    outcomeTokens: v.optional(
      v.nullable(v.pipe(v.array(v.pipe(v.string(), v.maxLength(200))), v.maxLength(10))),
    ),
    termsVersion: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(99))),
  });
const Candidate = v.object({
  kalshi: Leg("kalshi"),
  polymarket: Leg("polymarket"),
  similarity: v.pipe(v.number(), v.minValue(0), v.maxValue(1)),
});
/** The batch is checked as a list; each candidate on its own, so one bad candidate cannot stop the others' lapses. */
const Candidates = v.pipe(v.array(v.unknown()), v.maxLength(500));

/** An id and the principal acting on it, parsed together (errors name `id` or `actor.…`). */
const IdAndActor = v.object({ id: Id, actor: Principal });

/** The desk's methods with plain types (the stub's RPC-wrapped types do not narrow on `ok`). */
type DeskApi = Pick<
  ApprovalDesk,
  "open" | "approve" | "reject" | "cancel" | "reissue" | "redeem" | "returnReceipt" | "get" | "list"
>;
/** One desk for the whole system: every request is serialised through the same object. */
const desk = (env: Env) => env.APPROVAL_DESK.get(env.APPROVAL_DESK.idFromName("desk"));
/** A call to the desk; a throw (the object reset) is an internal failure, logged, its cause kept inside. */
const onDesk = <R>(env: Env, what: string, call: (desk: DeskApi) => Promise<Result<R>>) =>
  rpc(desk(env), call, { what: `desk.${what}`, code: ErrorCode.internal, hideCause: true });
const iso = (now: number) => new Date(now).toISOString();

/** Hash an approval payload; a payload JCS cannot represent is a validation failure, not a throw. */
async function hashPayload(payload: unknown): Promise<Result<string>> {
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

const hashToken = (token: string) => sha256Hex(`${RECEIPT_HASH_DOMAIN}\n${token}`);

async function audit<T extends AuditEventType<"governance">>(
  env: Env,
  type: T,
  actor: Principal,
  payload: AuditPayload<"governance", T>,
) {
  return auditAppend(env.AUDIT, { type, service: "governance", actor, payload });
}

/** Only a verified person (Cloudflare Access) may do `what`: the shared admin token is no person. */
function requirePerson(actor: Principal, what: string): Result<Principal> {
  if (isPerson(actor)) return ok(actor);
  return err(
    ErrorCode.forbidden,
    `only a verified person (Cloudflare Access) can ${what}; the admin token cannot`,
  );
}

// ---------------------------------------------------------------- integrity and rosters

const ROSTER_ACTOR = systemPrincipal("governance:roster");

/** Audit a refused desk step (`governance.approval_refused`, outcome `denied`); the refusal stands either way. */
export async function auditRefusal(
  env: Env,
  about: RefusalContext,
  actor: Principal,
  error: ApiError,
): Promise<void> {
  const audited = await audit(env, "governance.approval_refused", actor, refusalPayload(about, error));
  if (!audited.ok) console.error(`desk refusal not audited: ${audited.error.message}`);
}

/**
 * Dangerous actions (every two-person action) proceed only while the audit chain's integrity is `ok`: checked
 * when a request opens, at each approval, at a re-run, and when an applier redeems its receipt, just before it
 * writes (the state may have changed since the approval). `broken`, `unknown` (never verified) and an audit
 * that cannot answer all refuse; nothing is spent, so the approved request can be re-run once it is `ok`.
 */
export async function requireIntegrity(
  env: Env,
  about: RefusalContext,
  actor: Principal,
): Promise<Result<null>> {
  let refusal: ApiError;
  try {
    const status = (await env.AUDIT.status()) as Result<AuditStatus>;
    if (status.ok && status.value.integrity === "ok") return ok(null);
    refusal = !status.ok
      ? {
          code: ErrorCode.auditUnavailable,
          message: `audit integrity unknown (${status.error.message}): two-person actions are refused`,
        }
      : {
          code: ErrorCode.integrityNotOk,
          message:
            status.value.integrity === "broken"
              ? "audit chain integrity is broken: two-person actions are refused until a full verification passes (POST /admin/audit/verify)"
              : "audit chain integrity is not yet verified: two-person actions are refused until a verification passes (POST /admin/audit/verify)",
          details: { integrity: status.value.integrity },
        };
  } catch (error) {
    refusal = {
      code: ErrorCode.auditUnavailable,
      message: `audit status unavailable (${(error as Error).message}): two-person actions are refused`,
    };
  }
  await auditRefusal(env, about, actor, refusal);
  return { ok: false, error: refusal };
}

/**
 * The roster of `action`. The first time an action is used its roster is set from `APPROVER_ROSTER`, once,
 * audited (`governance.roster_seeded`); from then on that config is never read for it again, and only an
 * approved `governance.roster_change` alters it. No roster (config missing, empty, malformed, or naming fewer
 * than two people) refuses every request and approval of the action: fail closed.
 */
export async function rosterOf(
  env: Env,
  action: ApprovalAction,
  now: number,
): Promise<Result<ApproverRoster>> {
  const stored = await rosters.getRoster(env.D1_GOVERNANCE, action);
  if (stored) return ok(stored);
  const seed = configuredRoster(env.APPROVER_ROSTER, action);
  if (!seed.ok)
    return err(
      ErrorCode.serviceUnavailable,
      `no approver roster for ${action}: ${seed.message} (two-person actions fail closed; see docs/governance.md)`,
    );
  const audited = await audit(env, "governance.roster_seeded", ROSTER_ACTOR, {
    action,
    approvers: seed.approvers,
    version: 1,
    source: "config",
  });
  if (!audited.ok) return audited;
  await rosters.insertFirstRoster(
    env.D1_GOVERNANCE,
    action,
    seed.approvers,
    actorLabel(ROSTER_ACTOR),
    iso(now),
  );
  const set = await rosters.getRoster(env.D1_GOVERNANCE, action);
  return set ? ok(set) : err(ErrorCode.internal, `roster of ${action} could not be read back`);
}

/** Actions with neither a stored roster nor a usable first roster in config (health: none may be listed). */
export async function actionsWithoutRoster(env: Env): Promise<ApprovalAction[]> {
  const stored = new Set((await rosters.listRosters(env.D1_GOVERNANCE)).map((r) => r.action));
  return ApprovalActionSchema.options.filter(
    (action) => !stored.has(action) && !configuredRoster(env.APPROVER_ROSTER, action).ok,
  );
}

/** Every action's roster, or why it has none. */
export async function listRosters(env: Env, now: number): Promise<Result<RosterListing[]>> {
  const listing: RosterListing[] = [];
  for (const action of ApprovalActionSchema.options) {
    const roster = await rosterOf(env, action, now);
    listing.push(
      roster.ok
        ? { action, roster: roster.value, error: null }
        : { action, roster: null, error: { code: roster.error.code, message: roster.error.message } },
    );
  }
  return ok(listing);
}

/**
 * A roster change as it is requested and stored: canonical addresses, sorted, each once; refused when it names
 * fewer than two people or when the roster moved past `version` (nobody approves a change of an older roster).
 */
async function checkRosterChange(
  env: Env,
  payload: RosterChangePayload,
  now: number,
): Promise<Result<{ change: RosterChangePayload; current: ApproverRoster }>> {
  const checked = checkRoster(payload.approvers);
  if (!checked.ok) return err(ErrorCode.validationFailed, `approvers: ${checked.message}`);
  const current = await rosterOf(env, payload.action, now);
  if (!current.ok) return current;
  if (current.value.version !== payload.version)
    return err(
      ErrorCode.conflict,
      `the roster of ${payload.action} is at version ${current.value.version}, not ${payload.version}: request the change again`,
    );
  return ok({ change: { ...payload, approvers: checked.approvers }, current: current.value });
}

/** Apply `governance.roster_change` with its receipt: checked against the roster, redeemed, then written. */
export async function applyRosterChange(
  env: Env,
  receipt: unknown,
  payload: unknown,
  actorIn: unknown,
  now: number,
): Promise<Result<ApproverRoster>> {
  const input = parseArgs([Principal, RosterChangePayload], [actorIn, payload]);
  if (!input.ok) return input;
  const [actor, p] = input.value;
  const checked = await checkRosterChange(env, p, now);
  if (!checked.ok) return checked;
  const { change, current } = checked.value;
  const redeemed = await redeemReceipt(env, receipt, "governance.roster_change", payload, actor, now);
  if (!redeemed.ok) return redeemed;
  return applyOrReturn(env, receipt, actor, "the roster (GET /admin/approvers)", async () => {
    const audited = await audit(env, "governance.roster_changed", actor, {
      action: change.action,
      fromVersion: current.version,
      toVersion: current.version + 1,
      previous: current.approvers,
      approvers: change.approvers,
      requestId: redeemed.value.requestId,
      approvedBy: redeemed.value.approvers,
    });
    if (!audited.ok) return audited;
    const next = await rosters.replaceRoster(
      env.D1_GOVERNANCE,
      current,
      change.approvers,
      redeemed.value.requestId,
      actorLabel(actor),
      iso(now),
    );
    return next ? ok(next) : err(ErrorCode.conflict, "the roster changed meanwhile; nothing applied");
  });
}

// ---------------------------------------------------------------- desk

/** Open a two-person request (persons only; strategy go-live goes through requestGoLive). */
export async function requestApproval(
  env: Env,
  input: unknown,
  actorIn: unknown,
  now: number,
): Promise<Result<ApprovalView>> {
  const args = parseArgs([Principal, ApprovalRequestInput], [actorIn, input]);
  if (!args.ok) return args;
  const [actor, parsed] = args.value;
  const person = requirePerson(actor, "request a two-person action");
  if (!person.ok) {
    await auditRefusal(env, { step: "open", requestId: null, action: parsed.action }, actor, person.error);
    return person;
  }
  const { action } = parsed;
  if (action === "strategy.go_live") {
    return err(ErrorCode.badRequest, "request strategy go-live with POST /admin/strategies/:id/go-live");
  }
  const payload = parseInput(ACTION_PAYLOADS[action], parsed.payload);
  if (!payload.ok) return payload;
  let value = payload.value as JsonValue;
  if (action === "strategy.allocation_increase") {
    const p = payload.value as StrategyAllocationPayload;
    const s = await strategies.getStrategy(env.D1_GOVERNANCE, p.strategyId);
    if (!s) return err(ErrorCode.notFound, `no strategy ${p.strategyId}`);
    if (s.state === "retired") return err(ErrorCode.conflict, "strategy is retired");
    if (compareDollars(p.allocation, s.allocation) <= 0) {
      return err(ErrorCode.badRequest, `allocation ${p.allocation} is not an increase over ${s.allocation}`);
    }
  }
  if (action === "governance.roster_change") {
    const checked = await checkRosterChange(env, payload.value as RosterChangePayload, now);
    if (!checked.ok) return checked;
    // The approved payload is the roster exactly as it will be stored.
    value = checked.value.change;
  }
  return openOnDesk(env, action, value, actor, now);
}

async function openOnDesk(
  env: Env,
  action: ApprovalAction,
  payload: JsonValue,
  actor: Principal,
  now: number,
): Promise<Result<ApprovalView>> {
  const hash = await hashPayload(payload);
  if (!hash.ok) return hash;
  const intact = await requireIntegrity(env, { step: "open", requestId: null, action }, actor);
  if (!intact.ok) return intact;
  return onDesk(env, "open", (d) =>
    d.open(
      { requestId: `apr_${randomId(12)}`, action, payload, payloadHash: hash.value, requester: actor },
      now,
    ),
  );
}

/** Approve; the approval that reaches the threshold answers the (single-use) receipt. */
export async function approve(
  env: Env,
  requestId: unknown,
  actorIn: unknown,
  now: number,
): Promise<Result<ApprovalDecision>> {
  const input = parseInput(IdAndActor, { id: requestId, actor: actorIn });
  if (!input.ok) return input;
  const { id, actor } = input.value;
  const intact = await requireIntegrity(env, { step: "approve", requestId: id, action: null }, actor);
  if (!intact.ok) return intact;
  // The token is minted and hashed before the desk's critical section; it is handed out only if used.
  const token = randomId(32);
  const tokenHash = await hashToken(token);
  const result = await onDesk(env, "approve", (d) => d.approve(id, actor, now, tokenHash));
  if (!result.ok) return result;
  return ok({
    request: result.value.view,
    receipt: result.value.receiptIssued ? { requestId: id, receiptToken: token } : null,
  });
}

/** Reject (final). */
export async function reject(
  env: Env,
  requestId: unknown,
  reason: unknown,
  actorIn: unknown,
  now: number,
): Promise<Result<ApprovalView>> {
  const input = parseArgs([Id, FreeText(500, 1), Principal], [requestId, reason, actorIn]);
  if (!input.ok) return input;
  const [id, why, actor] = input.value;
  const rejected = await onDesk(env, "reject", (d) => d.reject(id, actor, why, now));
  if (!rejected.ok) return rejected;
  const back = await endedGoLive(env, rejected.value, actor, now);
  if (!back.ok)
    return err(
      back.error.code,
      `request ${id} is rejected, but its strategy is still pending_live: ${back.error.message}; move it with POST /admin/strategies/:id/paper`,
    );
  return rejected;
}

/** A fresh receipt for an approved request whose apply step did not complete. */
export async function reissueReceipt(
  env: Env,
  requestId: unknown,
  actorIn: unknown,
  now: number,
): Promise<Result<ApprovalDecision>> {
  const input = parseInput(IdAndActor, { id: requestId, actor: actorIn });
  if (!input.ok) return input;
  const { id, actor } = input.value;
  const intact = await requireIntegrity(env, { step: "reissue", requestId: id, action: null }, actor);
  if (!intact.ok) return intact;
  const token = randomId(32);
  const tokenHash = await hashToken(token);
  const result = await onDesk(env, "reissue", (d) => d.reissue(id, actor, now, tokenHash));
  if (!result.ok) return result;
  return ok({ request: result.value, receipt: { requestId: id, receiptToken: token } });
}

/** Verify and consume a receipt for exactly this action and payload. */
export async function redeemReceipt(
  env: Env,
  receiptIn: unknown,
  actionIn: unknown,
  payload: unknown,
  actorIn: unknown,
  now: number,
): Promise<Result<VerifiedApproval>> {
  const receipt = parseInput(ReceiptRef, receiptIn);
  if (!receipt.ok) return err(ErrorCode.approvalRequired, `receipt refused: ${receipt.error.message}`);
  const input = parseArgs([ApprovalActionSchema, Principal], [actionIn, actorIn]);
  if (!input.ok) return input;
  const [action, actor] = input.value;
  const payloadHash = await hashPayload(payload);
  if (!payloadHash.ok) return payloadHash;
  // The apply-time check: every applier redeems right before it writes, so this is the last look.
  const intact = await requireIntegrity(
    env,
    { step: "redeem", requestId: receipt.value.requestId, action },
    actor,
  );
  if (!intact.ok) return intact;
  const tokenHash = await hashToken(receipt.value.receiptToken);
  const result = await onDesk(env, "redeem", (d) =>
    d.redeem(receipt.value.requestId, { tokenHash, action, payloadHash: payloadHash.value, actor }, now),
  );
  if (!result.ok) return result;
  const view = result.value.view;
  return ok({
    requestId: view.requestId,
    action: view.action,
    payloadHash: view.payloadHash,
    policyVersion: view.policyVersion,
    approvers: result.value.approvers,
    requestedBy: result.value.requestedBy,
  });
}

/** Give back a redeemed receipt whose apply step failed (see GovernanceRpc.returnReceipt). */
export async function returnReceipt(
  env: Env,
  receiptIn: unknown,
  reasonIn: unknown,
  actorIn: unknown,
  now: number,
): Promise<Result<ApprovalView>> {
  const receipt = parseInput(ReceiptRef, receiptIn);
  if (!receipt.ok) return err(ErrorCode.approvalRequired, `receipt not returned: ${receipt.error.message}`);
  const input = parseArgs(
    [v.pipe(v.string(), v.minLength(1), v.maxLength(500)), Principal],
    [reasonIn, actorIn],
  );
  if (!input.ok) return input;
  const [reason, actor] = input.value;
  const tokenHash = await hashToken(receipt.value.receiptToken);
  return onDesk(env, "returnReceipt", (d) =>
    d.returnReceipt(receipt.value.requestId, { tokenHash, reason: reason, actor: actor }, now),
  );
}

/** Requests, newest first. */
export async function listApprovals(env: Env, filter: unknown, now: number): Promise<Result<ApprovalView[]>> {
  const f = parseInput(v.object({ status: v.optional(ApprovalStatus) }), filter ?? {});
  if (!f.ok) return f;
  return onDesk(env, "list", (d) => d.list(f.value.status, now));
}

/** One request. */
export async function getApproval(env: Env, requestId: unknown, now: number): Promise<Result<ApprovalView>> {
  const id = parseInput(Id, requestId);
  if (!id.ok) return id;
  return onDesk(env, "get", (d) => d.get(id.value, now));
}

// ---------------------------------------------------------------- strategies

/** Create a draft strategy. */
export async function createStrategy(
  env: Env,
  input: unknown,
  actorIn: unknown,
  now: number,
): Promise<Result<StrategyView>> {
  const args = parseArgs([StrategyCreateInput, Principal], [input, actorIn]);
  if (!args.ok) return args;
  const [parsed, actor] = args.value;
  const id = `stg_${randomId(9)}`;
  const audited = await audit(env, "governance.strategy_created", actor, {
    strategyId: id,
    name: parsed.name,
    kind: parsed.kind,
    allocation: parsed.allocation,
    venues: parsed.venues,
    paramsHash: await canonicalHash("paulp.strategy.params.v1", parsed.params),
  });
  if (!audited.ok) return audited;
  return ok(await strategies.insertStrategy(env.D1_GOVERNANCE, id, parsed, actorLabel(actor), iso(now)));
}

/** Direct lifecycle moves (paper, paused, retired). */
export async function transitionStrategy(
  env: Env,
  strategyId: unknown,
  to: unknown,
  actorIn: unknown,
  now: number,
): Promise<Result<StrategyView>> {
  const input = parseArgs(
    [Id, v.picklist(["paper", "paused", "retired"]), Principal],
    [strategyId, to, actorIn],
  );
  if (!input.ok) return input;
  const [id, target, actor] = input.value;
  const current = await strategies.getStrategy(env.D1_GOVERNANCE, id);
  if (!current) return err(ErrorCode.notFound, `no strategy ${id}`);
  const move = checkTransition(current.state, target);
  if (!move.ok) return err(ErrorCode.conflict, move.message);
  if (move.via !== "direct" && move.via !== "endsRequest")
    return err(ErrorCode.approvalRequired, `${current.state} → ${target} needs two-person approval`);
  const detail: StrategyMove = { from: current.state, to: target };
  if (move.via === "endsRequest" && current.pendingRequestId) {
    // The request ends first: a strategy that is no longer pending_live has no go-live request open.
    const ended = await endGoLiveRequest(
      env,
      current.pendingRequestId,
      actor,
      `strategy moved to ${target}`,
      now,
    );
    if (!ended.ok) return ended;
    detail.requestId = current.pendingRequestId;
    detail.requestStatus = ended.value;
  }
  return changeStrategy(env, current, { state: target, pendingRequestId: null }, actor, now, detail);
}

/**
 * Cancel a strategy's open go-live request, answering the status it ends in. A request that already ended
 * (rejected, expired, cancelled) or was executed (its applier's compare-and-set on the strategy then decides
 * which move wins) is left as it is; only a cancel that could not be recorded refuses the move.
 */
async function endGoLiveRequest(
  env: Env,
  requestId: string,
  actor: Principal,
  reason: string,
  now: number,
): Promise<Result<string>> {
  const cancelled = await onDesk(env, "cancel", (d) => d.cancel(requestId, actor, reason, now));
  if (cancelled.ok) return ok(cancelled.value.status);
  if (cancelled.error.code !== ErrorCode.conflict && cancelled.error.code !== ErrorCode.notFound)
    return err(
      cancelled.error.code,
      `go-live request ${requestId} not cancelled: ${cancelled.error.message}`,
    );
  const current = await onDesk(env, "get", (d) => d.get(requestId, now));
  return ok(current.ok ? current.value.status : "unknown");
}

/**
 * A go-live request ended without going live (rejected, expired): its strategy, if still pending_live on that
 * request, goes back to the state it left (paper or paused), audited like any move. Anything else is left alone.
 */
export async function endedGoLive(
  env: Env,
  request: ApprovalView,
  actor: Principal,
  now: number,
): Promise<Result<StrategyView | null>> {
  if (request.action !== "strategy.go_live") return ok(null);
  if (request.status !== "rejected" && request.status !== "expired") return ok(null);
  const strategyId = (request.payload as { strategyId?: unknown } | null)?.strategyId;
  if (typeof strategyId !== "string") return ok(null);
  const current = await strategies.getStrategy(env.D1_GOVERNANCE, strategyId);
  if (current?.state !== "pending_live" || current.pendingRequestId !== request.requestId) return ok(null);
  const to = await strategies.preLiveState(env.D1_GOVERNANCE, strategyId);
  const move = checkTransition(current.state, to);
  if (!move.ok || move.via !== "endsRequest") return err(ErrorCode.internal, `no move pending_live → ${to}`);
  return changeStrategy(env, current, { state: to, pendingRequestId: null }, actor, now, {
    from: current.state,
    to,
    requestId: request.requestId,
    requestStatus: request.status,
  });
}

/** What a strategy change records besides the strategy and its next version. */
type StrategyMove = Omit<AuditPayload<"governance", "governance.strategy_changed">, "strategyId" | "version">;

async function changeStrategy(
  env: Env,
  current: StrategyView,
  change: Parameters<typeof strategies.updateStrategy>[2],
  actor: Principal,
  now: number,
  detail: StrategyMove,
): Promise<Result<StrategyView>> {
  const audited = await audit(env, "governance.strategy_changed", actor, {
    strategyId: current.id,
    version: current.version + 1,
    ...detail,
  });
  if (!audited.ok) return audited;
  const next = await strategies.updateStrategy(
    env.D1_GOVERNANCE,
    current,
    change,
    actorLabel(actor),
    iso(now),
  );
  if (!next) return err(ErrorCode.conflict, "strategy changed concurrently; reload and retry");
  return ok(next);
}

/** Open the go-live request and move the strategy to pending_live. */
export async function requestGoLive(
  env: Env,
  strategyId: unknown,
  actorIn: unknown,
  now: number,
): Promise<Result<{ strategy: StrategyView; request: ApprovalView }>> {
  const input = parseInput(IdAndActor, { id: strategyId, actor: actorIn });
  if (!input.ok) return input;
  const { id, actor } = input.value;
  const person = requirePerson(actor, "request go-live");
  if (!person.ok) {
    await auditRefusal(
      env,
      { step: "open", requestId: null, action: "strategy.go_live" },
      actor,
      person.error,
    );
    return person;
  }
  const current = await strategies.getStrategy(env.D1_GOVERNANCE, id);
  if (!current) return err(ErrorCode.notFound, `no strategy ${id}`);
  const move = checkTransition(current.state, "pending_live");
  if (!move.ok) return err(ErrorCode.conflict, move.message);
  // The payload names the version the strategy will have once pending_live, so any later edit voids it.
  const payload = {
    strategyId: current.id,
    version: current.version + 1,
    allocation: current.allocation,
    venues: current.venues,
  };
  const request = await openOnDesk(env, "strategy.go_live", payload, actor, now);
  if (!request.ok) return request;
  const strategy = await changeStrategy(
    env,
    current,
    {
      state: "pending_live",
      pendingRequestId: request.value.requestId,
      preLiveState: current.state === "paused" ? "paused" : "paper",
    },
    actor,
    now,
    {
      from: current.state,
      to: "pending_live",
      requestId: request.value.requestId,
    },
  );
  if (!strategy.ok) {
    // No strategy waits on this request: end it, so nobody approves a go-live that cannot apply.
    await endGoLiveRequest(env, request.value.requestId, actor, "strategy did not move to pending_live", now);
    return strategy;
  }
  return ok({ strategy: strategy.value, request: request.value });
}

/** Apply a strategy action with its receipt: checked against the strategy first, then redeemed, then applied. */
export async function applyStrategyApproval(
  env: Env,
  receipt: unknown,
  actionIn: unknown,
  payload: unknown,
  actorIn: unknown,
  now: number,
): Promise<Result<StrategyView>> {
  const input = parseArgs(
    [v.picklist(["strategy.go_live", "strategy.allocation_increase"]), Principal],
    [actionIn, actorIn],
  );
  if (!input.ok) return input;
  const [action, actor] = input.value;
  if (action === "strategy.go_live") {
    const p = parseInput(StrategyGoLivePayload, payload);
    if (!p.ok) return p;
    const current = await strategies.getStrategy(env.D1_GOVERNANCE, p.value.strategyId);
    if (!current) return err(ErrorCode.notFound, `no strategy ${p.value.strategyId}`);
    const move = checkTransition(current.state, "live");
    if (!move.ok) return err(ErrorCode.conflict, move.message);
    if (
      current.version !== p.value.version ||
      current.allocation !== p.value.allocation ||
      current.venues.join() !== p.value.venues.join()
    ) {
      return err(ErrorCode.conflict, "strategy changed since go-live was requested; request go-live again");
    }
    const redeemed = await redeemReceipt(env, receipt, action, payload, actor, now);
    if (!redeemed.ok) return redeemed;
    return applyOrReturn(env, receipt, actor, STRATEGY_CHECK, () =>
      changeStrategy(env, current, { state: "live", pendingRequestId: null }, actor, now, {
        from: current.state,
        to: "live",
        requestId: redeemed.value.requestId,
        approvers: redeemed.value.approvers,
      }),
    );
  }
  const p = parseInput(v.strictObject(StrategyAllocationPayload.entries), payload);
  if (!p.ok) return p;
  const current = await strategies.getStrategy(env.D1_GOVERNANCE, p.value.strategyId);
  if (!current) return err(ErrorCode.notFound, `no strategy ${p.value.strategyId}`);
  if (current.state === "retired") return err(ErrorCode.conflict, "strategy is retired");
  // Still an increase now: an older approval applied after a newer, larger one must not lower it.
  if (compareDollars(p.value.allocation, current.allocation) <= 0)
    return err(
      ErrorCode.conflict,
      `allocation ${p.value.allocation} is no longer an increase over ${current.allocation}; nothing applied`,
    );
  const redeemed = await redeemReceipt(env, receipt, action, payload, actor, now);
  if (!redeemed.ok) return redeemed;
  return applyOrReturn(env, receipt, actor, STRATEGY_CHECK, () =>
    changeStrategy(env, current, { allocation: p.value.allocation }, actor, now, {
      allocationFrom: current.allocation,
      allocationTo: p.value.allocation,
      requestId: redeemed.value.requestId,
      approvers: redeemed.value.approvers,
    }),
  );
}

const STRATEGY_CHECK = "the strategy (GET /admin/strategies)";

/**
 * Apply after a redemption. An apply that answers a failure changed nothing (its audit append was refused,
 * or the strategy's version moved so the compare-and-set wrote nothing): the receipt is given back so a
 * person can re-run the approval. One that throws may have written the change (a D1 error after the commit),
 * so its receipt is not given back. The failure keeps its code; its message says which happened.
 */
async function applyOrReturn<T>(
  env: Env,
  receipt: unknown,
  actor: Principal,
  check: string,
  apply: () => Promise<Result<T>>,
): Promise<Result<T>> {
  const id = (receipt as { requestId: string }).requestId;
  let result: Result<T>;
  try {
    result = await apply();
  } catch (error) {
    return err(
      ErrorCode.internal,
      `apply failed: ${(error as Error).message}; approval ${id} not returned: the change may have been written, check ${check}`,
    );
  }
  if (result.ok) return result;
  let back: Result<unknown> | Error;
  try {
    // The clock at the return, not at the start of the apply: the execute window is checked against it.
    back = await returnReceipt(env, receipt, returnReason(result.error), actor, Date.now());
  } catch (error) {
    back = error as Error;
  }
  return afterReturn(result.error, id, back);
}

// ---------------------------------------------------------------- pairs

/** Pair ids are derived from the two market ids, so re-proposing a pair finds it again. */
export async function pairIdOf(c: Pick<PairCandidate, "kalshi" | "polymarket">): Promise<string> {
  return `pair_${(await sha256Hex(`kalshi:${c.kalshi.marketId}|polymarket:${c.polymarket.marketId}`)).slice(0, 24)}`;
}

/** Store candidates; a changed termsHash on either leg lapses grade and human approval. */
export async function proposePairs(
  env: Env,
  input: unknown,
  actorIn: unknown,
  now: number,
): Promise<Result<{ created: number; lapsed: number; refused: number; rekeyed: number }>> {
  const args = parseArgs([Candidates, Principal], [input, actorIn]);
  if (!args.ok) return args;
  const [parsed, actor] = args.value;
  const valid: v.InferOutput<typeof Candidate>[] = [];
  const refusals: string[] = [];
  for (const [i, c] of parsed.entries()) {
    const one = v.safeParse(Candidate, c);
    if (one.success) valid.push(one.output);
    else refusals.push(`candidate ${i}: ${v.summarize(one.issues)}`.slice(0, 300));
  }
  if (refusals.length > 0) {
    // Refused on their own (the rest still lapse and propose), and recorded, not only logged.
    const audited = await audit(env, "governance.pair_candidates_refused", actor, {
      count: refusals.length,
      reasons: refusals.slice(0, 10),
    });
    if (!audited.ok) return audited;
  }
  const items = await Promise.all(
    valid.map(async (candidate) => ({
      pairId: await pairIdOf(candidate),
      candidate: candidate as PairCandidate,
    })),
  );
  const plan = await pairs.planProposal(env.D1_GOVERNANCE, items);
  if (plan.inserts.length > 0 || plan.lapses.length > 0 || plan.rekeys.length > 0) {
    const hashes = (l: { old: { kalshi: string; polymarket: string }; candidate: PairCandidate }) => ({
      kalshiTermsHash: { from: l.old.kalshi, to: l.candidate.kalshi.termsHash },
      polymarketTermsHash: { from: l.old.polymarket, to: l.candidate.polymarket.termsHash },
    });
    const audited = await audit(env, "governance.pairs_proposed", actor, {
      created: plan.inserts.map((i) => i.pairId),
      lapsed: plan.lapses.map((l) => ({ pairId: l.pairId, reason: l.reason, ...hashes(l) })),
      rekeyed: plan.rekeys.map((r) => ({ pairId: r.pairId, termsVersion: r.versions, ...hashes(r) })),
    });
    if (!audited.ok) return audited;
  }
  await pairs.applyProposal(env.D1_GOVERNANCE, plan, iso(now));
  return ok({
    created: plan.inserts.length,
    lapsed: plan.lapses.length,
    refused: refusals.length,
    rekeyed: plan.rekeys.length,
  });
}

/** The configured model, refused when the SDK's data says it is past its end of life (or unknown to it). */
export function usableModel(env: Pick<Env, "ANTHROPIC_MODEL">, now: number): Result<ModelLifecycle> {
  const model = (env.ANTHROPIC_MODEL ?? "").trim();
  if (!model) return err(ErrorCode.serviceUnavailable, "ANTHROPIC_MODEL is not configured");
  const lifecycle = modelLifecycle(model, now);
  if (lifecycle.state === "retired")
    return err(
      ErrorCode.serviceUnavailable,
      `${lifecycle.reason}; no assessment runs until ANTHROPIC_MODEL names a current model`,
    );
  return ok(lifecycle);
}

/** Assessment timing from vars: the per-request timeout and the retry bound (defaults when unset or invalid). */
function callDeps(env: Env): CallDeps {
  const positive = (raw: string | undefined, fallback: number) =>
    raw !== undefined && /^\d{1,9}$/.test(raw.trim()) && Number(raw) > 0 ? Number(raw) : fallback;
  const timeoutMs = positive(env.ANTHROPIC_TIMEOUT_MS, 30_000);
  return {
    fetch: createEgressFetch({ simulator: env.VENUE_SIM, timeoutMs: timeoutMs + 1_000 }),
    timeoutMs,
    retry: {
      maxAttempts: positive(env.ANTHROPIC_MAX_ATTEMPTS, DEFAULT_RETRY.maxAttempts),
      maxTotalWaitMs: positive(env.ANTHROPIC_RETRY_BUDGET_MS, DEFAULT_RETRY.maxTotalWaitMs),
    },
  };
}

/** Run the LLM equivalence assessment and keep prompt, model, verdict, request id, usage and both evidence hashes. */
export async function assessPair(
  env: Env,
  pairIdIn: unknown,
  actorIn: unknown,
  now: () => number,
): Promise<Result<{ pair: PairView; assessment: PairAssessment }>> {
  const input = parseInput(IdAndActor, { id: pairIdIn, actor: actorIn });
  if (!input.ok) return input;
  const { id, actor } = input.value;
  const pair = await pairs.getPair(env.D1_GOVERNANCE, id);
  if (!pair) return err(ErrorCode.notFound, `no pair ${id}`);
  // A retired model would answer 404 to every call: refuse before sending anything or storing a grade.
  const lifecycle = usableModel(env, now());
  if (!lifecycle.ok) return lifecycle;
  const model = lifecycle.value.model;
  const body = buildAssessmentRequest(model, pair.kalshi, pair.polymarket);
  const outcome = await callForcedTool(callDeps(env), env.ANTHROPIC_API_KEY, body);
  const {
    verdict,
    outcome: kind,
    detail,
  } = holdUnlessTermsAgree(verdictFrom(outcome), pair.kalshi, pair.polymarket);
  const usage = "usage" in outcome ? outcome.usage : null;
  const promptHash = await canonicalHash("paulp.pair.prompt.v1", body);
  const assessmentId = `asm_${randomId(12)}`;
  const assessedAt = iso(now());
  const audited = await audit(env, "governance.pair_assessed", actor, {
    pairId: pair.pairId,
    assessmentId,
    model,
    promptHash,
    prompt: body,
    verdict,
    outcome: kind,
    detail,
    requestId: outcome.requestId,
    usage,
    attempts: outcome.attempts,
    kalshiEvidenceHash: pair.kalshi.evidenceHash,
    polymarketEvidenceHash: pair.polymarket.evidenceHash,
    kalshiTermsHash: pair.kalshi.termsHash,
    polymarketTermsHash: pair.polymarket.termsHash,
  });
  if (!audited.ok) return audited;
  const assessment: PairAssessment = {
    assessmentId,
    pairId: pair.pairId,
    model,
    promptHash,
    verdict,
    outcome: kind,
    detail,
    kalshiEvidenceHash: pair.kalshi.evidenceHash,
    polymarketEvidenceHash: pair.polymarket.evidenceHash,
    auditSeq: audited.value.seq,
    auditHash: audited.value.hash,
    assessedAt,
    requestId: outcome.requestId,
    usage,
    attempts: outcome.attempts,
  };
  const stored = await pairs.recordAssessment(env.D1_GOVERNANCE, {
    ...assessment,
    prompt: JSON.stringify(body),
    kalshiTermsHash: pair.kalshi.termsHash,
    polymarketTermsHash: pair.polymarket.termsHash,
  });
  if (!stored) return err(ErrorCode.conflict, "the pair's terms changed during the assessment; assess again");
  return ok({ pair: (await pairs.getPair(env.D1_GOVERNANCE, pair.pairId))!, assessment });
}

/** A person approves or rejects the pair as currently graded; a review belongs to its reviewer (pair-review.ts). */
export async function reviewPair(
  env: Env,
  pairIdIn: unknown,
  input: unknown,
  actorIn: unknown,
  now: number,
): Promise<Result<PairView>> {
  const args = parseArgs([Id, PairReviewInput, Principal], [pairIdIn, input, actorIn]);
  if (!args.ok) return args;
  const [id, review, actor] = args.value;
  const person = requirePerson(actor, "review a pair");
  if (!person.ok) return person;
  const reviewer = personOf(actor)!;
  const pair = await pairs.getPair(env.D1_GOVERNANCE, id);
  if (!pair) return err(ErrorCode.notFound, `no pair ${id}`);
  if (!pair.assessmentId || !pair.grade)
    return err(ErrorCode.conflict, "pair has no assessment yet; assess it first");
  const decision = review.decision === "approve" ? "approved" : "rejected";
  if (
    decision === "approved" &&
    (pair.grade === "not_equivalent" || pair.grade === "uncertain" || !pair.yesMapsTo)
  ) {
    return err(
      ErrorCode.conflict,
      `pair is graded ${pair.grade}; only identical or near_equivalent pairs can be approved`,
    );
  }
  const current = await pairs.currentReview(env.D1_GOVERNANCE, pair.pairId);
  if (!current) return err(ErrorCode.notFound, `no pair ${id}`);
  const ruling = ruleOnReview(current, decision, reviewer);
  if (!ruling.ok) return err(ErrorCode.conflict, ruling.message);
  const reviewId = `rev_${randomId(12)}`;
  const audited = await audit(env, "governance.pair_reviewed", actor, {
    pairId: pair.pairId,
    reviewId,
    supersedes: ruling.supersedes,
    decision,
    note: review.note,
    grade: pair.grade,
    yesMapsTo: pair.yesMapsTo,
    assessmentId: pair.assessmentId,
    kalshiTermsHash: pair.kalshi.termsHash,
    polymarketTermsHash: pair.polymarket.termsHash,
  });
  if (!audited.ok) return audited;
  const stored = await pairs.recordReview(env.D1_GOVERNANCE, pair, current, {
    reviewId,
    decision,
    reviewer,
    note: review.note,
    supersedes: ruling.supersedes,
    auditSeq: audited.value.seq,
    auditHash: audited.value.hash,
    at: iso(now),
  });
  if (!stored) return err(ErrorCode.conflict, "the pair changed while it was reviewed; review it again");
  return ok((await pairs.getPair(env.D1_GOVERNANCE, pair.pairId))!);
}

/** Cron: assess a few never-assessed candidates. */
export async function assessPending(
  env: Env,
  actor: Principal,
  now: () => number,
  limit = 20,
): Promise<number> {
  const model = usableModel(env, now());
  if (!model.ok) {
    console.warn(`governance: no assessments: ${model.error.message}`);
    return 0;
  }
  let done = 0;
  for (const pairId of await pairs.unassessedPairIds(env.D1_GOVERNANCE, limit)) {
    const result = await assessPair(env, pairId, actor, now);
    if (result.ok) done++;
  }
  return done;
}
