// Governance operations over the worker's bindings. Each takes the env and the time, validates its
// input, audits before it changes anything (fail closed) and answers a Result.
import {
  type ApprovalAction,
  ApprovalAction as ApprovalActionSchema,
  type ApprovalDecision,
  ApprovalRequestInput,
  type ApprovalStatus,
  type ApprovalView,
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
  StrategyAllocationPayload,
  StrategyCreateInput,
  type StrategyView,
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
  parseInput,
  randomId,
  returnReason,
  sha256Hex,
} from "@paulp/kit";
import * as v from "valibot";
import { ACTION_PAYLOADS, PAYLOAD_HASH_DOMAIN, RECEIPT_HASH_DOMAIN, StrategyGoLivePayload } from "./actions";
import { actorLabel } from "./actors";
import { type CallDeps, callForcedTool, DEFAULT_RETRY } from "./anthropic";
import type { ApprovalDesk } from "./approval-desk";
import { personOf } from "./desk";
import type { Env } from "./env";
import { buildAssessmentRequest, holdUnlessTermsAgree, verdictFrom } from "./pair-assessment";
import { ruleOnReview } from "./pair-review";
import * as pairs from "./pairs";
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
  "open" | "approve" | "reject" | "reissue" | "redeem" | "returnReceipt" | "get" | "list"
>;
/** One desk for the whole system: every request is serialised through the same object. */
const desk = (env: Env) => env.APPROVAL_DESK.get(env.APPROVAL_DESK.idFromName("desk")) as unknown as DeskApi;
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

async function audit(env: Env, type: string, actor: Principal, payload: JsonValue) {
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

// ---------------------------------------------------------------- desk

/** Open a two-person request (persons only; strategy go-live goes through requestGoLive). */
export async function requestApproval(
  env: Env,
  input: unknown,
  actorIn: unknown,
  now: number,
): Promise<Result<ApprovalView>> {
  const actor = parseInput(Principal, actorIn);
  if (!actor.ok) return actor;
  const parsed = parseInput(ApprovalRequestInput, input);
  if (!parsed.ok) return parsed;
  const person = requirePerson(actor.value, "request a two-person action");
  if (!person.ok) return person;
  const { action } = parsed.value;
  if (action === "strategy.go_live") {
    return err(ErrorCode.badRequest, "request strategy go-live with POST /admin/strategies/:id/go-live");
  }
  const payload = parseInput(ACTION_PAYLOADS[action], parsed.value.payload);
  if (!payload.ok) return payload;
  if (action === "strategy.allocation_increase") {
    const p = payload.value as StrategyAllocationPayload;
    const s = await strategies.getStrategy(env.D1_GOVERNANCE, p.strategyId);
    if (!s) return err(ErrorCode.notFound, `no strategy ${p.strategyId}`);
    if (s.state === "retired") return err(ErrorCode.conflict, "strategy is retired");
    if (compareDollars(p.allocation, s.allocation) <= 0) {
      return err(ErrorCode.badRequest, `allocation ${p.allocation} is not an increase over ${s.allocation}`);
    }
  }
  return openOnDesk(env, action, payload.value as JsonValue, actor.value, now);
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
  return desk(env).open(
    { requestId: `apr_${randomId(12)}`, action, payload, payloadHash: hash.value, requester: actor },
    now,
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
  // The token is minted and hashed before the desk's critical section; it is handed out only if used.
  const token = randomId(32);
  const tokenHash = await hashToken(token);
  const result = await desk(env).approve(id, actor, now, tokenHash);
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
  const id = parseInput(Id, requestId);
  if (!id.ok) return id;
  const why = parseInput(FreeText(500, 1), reason);
  if (!why.ok) return why;
  const actor = parseInput(Principal, actorIn);
  if (!actor.ok) return actor;
  return desk(env).reject(id.value, actor.value, why.value, now);
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
  const token = randomId(32);
  const result = await desk(env).reissue(id, actor, now, await hashToken(token));
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
  const action = parseInput(ApprovalActionSchema, actionIn);
  if (!action.ok) return action;
  const actor = parseInput(Principal, actorIn);
  if (!actor.ok) return actor;
  const payloadHash = await hashPayload(payload);
  if (!payloadHash.ok) return payloadHash;
  const tokenHash = await hashToken(receipt.value.receiptToken);
  const result = await desk(env).redeem(
    receipt.value.requestId,
    { tokenHash, action: action.value, payloadHash: payloadHash.value, actor: actor.value },
    now,
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
  const reason = parseInput(v.pipe(v.string(), v.minLength(1), v.maxLength(500)), reasonIn);
  if (!reason.ok) return reason;
  const actor = parseInput(Principal, actorIn);
  if (!actor.ok) return actor;
  return desk(env).returnReceipt(
    receipt.value.requestId,
    { tokenHash: await hashToken(receipt.value.receiptToken), reason: reason.value, actor: actor.value },
    now,
  );
}

/** Requests, newest first. */
export async function listApprovals(env: Env, filter: unknown, now: number): Promise<Result<ApprovalView[]>> {
  const f = parseInput(
    v.object({ status: v.optional(v.picklist(["pending", "approved", "rejected", "expired", "executed"])) }),
    filter ?? {},
  );
  if (!f.ok) return f;
  return desk(env).list(f.value.status as ApprovalStatus | undefined, now);
}

/** One request. */
export async function getApproval(env: Env, requestId: unknown, now: number): Promise<Result<ApprovalView>> {
  const id = parseInput(Id, requestId);
  if (!id.ok) return id;
  return desk(env).get(id.value, now);
}

// ---------------------------------------------------------------- strategies

/** Create a draft strategy. */
export async function createStrategy(
  env: Env,
  input: unknown,
  actorIn: unknown,
  now: number,
): Promise<Result<StrategyView>> {
  const parsed = parseInput(StrategyCreateInput, input);
  if (!parsed.ok) return parsed;
  const actor = parseInput(Principal, actorIn);
  if (!actor.ok) return actor;
  const id = `stg_${randomId(9)}`;
  const audited = await audit(env, "governance.strategy_created", actor.value, {
    strategyId: id,
    name: parsed.value.name,
    kind: parsed.value.kind,
    allocation: parsed.value.allocation,
    venues: parsed.value.venues,
    paramsHash: await canonicalHash("paulp.strategy.params.v1", parsed.value.params),
  });
  if (!audited.ok) return audited;
  return ok(
    await strategies.insertStrategy(env.D1_GOVERNANCE, id, parsed.value, actorLabel(actor.value), iso(now)),
  );
}

/** Direct lifecycle moves (paper, paused, retired). */
export async function transitionStrategy(
  env: Env,
  strategyId: unknown,
  to: unknown,
  actorIn: unknown,
  now: number,
): Promise<Result<StrategyView>> {
  const id = parseInput(Id, strategyId);
  if (!id.ok) return id;
  const target = parseInput(v.picklist(["paper", "paused", "retired"]), to);
  if (!target.ok) return target;
  const actor = parseInput(Principal, actorIn);
  if (!actor.ok) return actor;
  const current = await strategies.getStrategy(env.D1_GOVERNANCE, id.value);
  if (!current) return err(ErrorCode.notFound, `no strategy ${id.value}`);
  const move = checkTransition(current.state, target.value);
  if (!move.ok) return err(ErrorCode.conflict, move.message);
  if (move.via !== "direct")
    return err(ErrorCode.approvalRequired, `${current.state} → ${target.value} needs two-person approval`);
  return changeStrategy(env, current, { state: target.value, pendingRequestId: null }, actor.value, now, {
    from: current.state,
    to: target.value,
  });
}

async function changeStrategy(
  env: Env,
  current: StrategyView,
  change: Parameters<typeof strategies.updateStrategy>[2],
  actor: Principal,
  now: number,
  detail: { [key: string]: JsonValue },
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
  if (!person.ok) return person;
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
    { state: "pending_live", pendingRequestId: request.value.requestId },
    actor,
    now,
    {
      from: current.state,
      to: "pending_live",
      requestId: request.value.requestId,
    },
  );
  if (!strategy.ok) return strategy;
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
  const action = parseInput(v.picklist(["strategy.go_live", "strategy.allocation_increase"]), actionIn);
  if (!action.ok) return action;
  const actor = parseInput(Principal, actorIn);
  if (!actor.ok) return actor;
  if (action.value === "strategy.go_live") {
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
    const redeemed = await redeemReceipt(env, receipt, action.value, payload, actor.value, now);
    if (!redeemed.ok) return redeemed;
    return applyOrReturn(env, receipt, actor.value, () =>
      changeStrategy(env, current, { state: "live", pendingRequestId: null }, actor.value, now, {
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
  const redeemed = await redeemReceipt(env, receipt, action.value, payload, actor.value, now);
  if (!redeemed.ok) return redeemed;
  return applyOrReturn(env, receipt, actor.value, () =>
    changeStrategy(env, current, { allocation: p.value.allocation }, actor.value, now, {
      allocationFrom: current.allocation,
      allocationTo: p.value.allocation,
      requestId: redeemed.value.requestId,
      approvers: redeemed.value.approvers,
    }),
  );
}

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
  apply: () => Promise<Result<T>>,
): Promise<Result<T>> {
  const id = (receipt as { requestId: string }).requestId;
  let result: Result<T>;
  try {
    result = await apply();
  } catch (error) {
    return err(
      ErrorCode.internal,
      `apply failed: ${(error as Error).message}; approval ${id} not returned: the change may have been written, check the strategy (GET /admin/strategies)`,
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
  const parsed = parseInput(Candidates, input);
  if (!parsed.ok) return parsed;
  const actor = parseInput(Principal, actorIn);
  if (!actor.ok) return actor;
  const valid: v.InferOutput<typeof Candidate>[] = [];
  const refusals: string[] = [];
  for (const [i, c] of parsed.value.entries()) {
    const one = v.safeParse(Candidate, c);
    if (one.success) valid.push(one.output);
    else refusals.push(`candidate ${i}: ${v.summarize(one.issues)}`.slice(0, 300));
  }
  if (refusals.length > 0) {
    // Refused on their own (the rest still lapse and propose), and recorded, not only logged.
    const audited = await audit(env, "governance.pair_candidates_refused", actor.value, {
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
    const audited = await audit(env, "governance.pairs_proposed", actor.value, {
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
    prompt: body as unknown as JsonValue,
    verdict: verdict as unknown as JsonValue,
    outcome: kind,
    detail,
    requestId: outcome.requestId,
    usage: usage as unknown as JsonValue,
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
  const id = parseInput(Id, pairIdIn);
  if (!id.ok) return id;
  const review = parseInput(PairReviewInput, input);
  if (!review.ok) return review;
  const actor = parseInput(Principal, actorIn);
  if (!actor.ok) return actor;
  const person = requirePerson(actor.value, "review a pair");
  if (!person.ok) return person;
  const reviewer = personOf(actor.value)!;
  const pair = await pairs.getPair(env.D1_GOVERNANCE, id.value);
  if (!pair) return err(ErrorCode.notFound, `no pair ${id.value}`);
  if (!pair.assessmentId || !pair.grade)
    return err(ErrorCode.conflict, "pair has no assessment yet; assess it first");
  const decision = review.value.decision === "approve" ? "approved" : "rejected";
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
  if (!current) return err(ErrorCode.notFound, `no pair ${id.value}`);
  const ruling = ruleOnReview(current, decision, reviewer);
  if (!ruling.ok) return err(ErrorCode.conflict, ruling.message);
  const reviewId = `rev_${randomId(12)}`;
  const audited = await audit(env, "governance.pair_reviewed", actor.value, {
    pairId: pair.pairId,
    reviewId,
    supersedes: ruling.supersedes,
    decision,
    note: review.value.note,
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
    note: review.value.note,
    supersedes: ruling.supersedes,
    auditSeq: audited.value.seq,
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
