// Market-pair operations: proposals from ingestion, the LLM equivalence assessment, and a person's review.
import {
  ErrorCode,
  err,
  ok,
  type PairAssessment,
  type PairCandidate,
  type PairReviewInput,
  type PairView,
  type Result,
} from "@paulp/contracts";
import {
  canonicalHash,
  createEgressFetch,
  type ModelLifecycle,
  modelLifecycle,
  randomId,
  sha256Hex,
} from "@paulp/kit";
import * as v from "valibot";
import { type CallDeps, callForcedTool, DEFAULT_RETRY } from "./anthropic";
import { personOf } from "./desk";
import type { Env } from "./env";
import { type Act, audit, iso, requirePerson } from "./operation-support";
import { buildAssessmentRequest, holdUnlessTermsAgree, verdictFrom } from "./pair-assessment";
import { applyProposal, planProposal } from "./pair-proposals";
import { ruleOnReview } from "./pair-review";
import * as pairs from "./pairs";

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
export const Candidates = v.pipe(v.array(v.unknown()), v.maxLength(500));

/** Pair ids are derived from the two market ids, so re-proposing a pair finds it again. */
export async function pairIdOf(c: Pick<PairCandidate, "kalshi" | "polymarket">): Promise<string> {
  return `pair_${(await sha256Hex(`kalshi:${c.kalshi.marketId}|polymarket:${c.polymarket.marketId}`)).slice(0, 24)}`;
}

/** Store candidates; a changed termsHash on either leg lapses grade and human approval. */
export async function proposePairs(
  { env, now, actor }: Act,
  candidates: unknown[],
): Promise<Result<{ created: number; lapsed: number; refused: number; rekeyed: number }>> {
  const valid: v.InferOutput<typeof Candidate>[] = [];
  const refusals: string[] = [];
  for (const [i, c] of candidates.entries()) {
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
  const plan = await planProposal(env.D1_GOVERNANCE, items);
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
  await applyProposal(env.D1_GOVERNANCE, plan, iso(now));
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
function callDeps(env: Env, clock: () => number): CallDeps {
  const positive = (raw: string | undefined, fallback: number) =>
    raw !== undefined && /^\d{1,9}$/.test(raw.trim()) && Number(raw) > 0 ? Number(raw) : fallback;
  const timeoutMs = positive(env.ANTHROPIC_TIMEOUT_MS, 30_000);
  return {
    fetch: createEgressFetch({ simulator: env.VENUE_SIM, timeoutMs: timeoutMs + 1_000 }),
    timeoutMs,
    now: clock,
    retry: {
      maxAttempts: positive(env.ANTHROPIC_MAX_ATTEMPTS, DEFAULT_RETRY.maxAttempts),
      maxTotalWaitMs: positive(env.ANTHROPIC_RETRY_BUDGET_MS, DEFAULT_RETRY.maxTotalWaitMs),
    },
  };
}

/** Run the LLM equivalence assessment and keep prompt, model, verdict, request id, usage and both evidence hashes. */
export async function assessPair(
  { env, now, clock, actor }: Act,
  id: string,
): Promise<Result<{ pair: PairView; assessment: PairAssessment }>> {
  const pair = await pairs.getPair(env.D1_GOVERNANCE, id);
  if (!pair) return err(ErrorCode.notFound, `no pair ${id}`);
  // A retired model would answer 404 to every call: refuse before sending anything or storing a grade.
  const lifecycle = usableModel(env, now);
  if (!lifecycle.ok) return lifecycle;
  const model = lifecycle.value.model;
  const body = buildAssessmentRequest(model, pair.kalshi, pair.polymarket);
  const outcome = await callForcedTool(callDeps(env, clock), env.ANTHROPIC_API_KEY, body);
  const {
    verdict,
    outcome: kind,
    detail,
  } = holdUnlessTermsAgree(verdictFrom(outcome), pair.kalshi, pair.polymarket);
  const usage = "usage" in outcome ? outcome.usage : null;
  const promptHash = await canonicalHash("paulp.pair.prompt.v1", body);
  const assessmentId = `asm_${randomId(12)}`;
  const assessedAt = iso(clock());
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
  { env, now, actor }: Act,
  id: string,
  review: PairReviewInput,
): Promise<Result<PairView>> {
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

/** Cron: assess a few never-assessed candidates, each at the clock's time when its turn comes. */
export async function assessPending(act: Act, limit = 20): Promise<number> {
  const { env, now, clock } = act;
  const model = usableModel(env, now);
  if (!model.ok) {
    console.warn(`governance: no assessments: ${model.error.message}`);
    return 0;
  }
  let done = 0;
  for (const pairId of await pairs.unassessedPairIds(env.D1_GOVERNANCE, limit)) {
    const result = await assessPair({ ...act, now: clock() }, pairId);
    if (result.ok) done++;
  }
  return done;
}
