// Starting a replay: read what it replays (the strategy and its params, risk's limits, the tradable pairs), audit the
// request (fail closed: no unaudited replay runs), index it, and hand it to its own Durable Object.
import {
  ErrorCode,
  err,
  type JsonValue,
  ok,
  type Principal,
  type ReplayRecord,
  type ReplayStart,
  type Result,
} from "@paulp/contracts";
import { auditAppend, rpc } from "@paulp/kit";
import { paramsHash } from "@paulp/replay";
import type { Env } from "../env";
import { countFetches } from "../fetch-log";
import { engineStart } from "./engine-adapter";
import { legCategories } from "./leg-categories";
import type { RunProgress } from "./step";
import { insertReplay } from "./store";

/** Default time from a decision to its fill against the book then recorded. */
export const DEFAULT_LATENCY_MS = 250;

const BASE32 = "0123456789abcdefghijklmnopqrstuv";

/** `rp_` and 26 base32 characters: 130 bits, the top two of which are zero. */
export function newReplayId(): string {
  const raw = crypto.getRandomValues(new Uint8Array(17));
  let bits = 0n;
  for (const b of raw) bits = (bits << 8n) | BigInt(b);
  let out = "";
  for (let i = 0; i < 26; i++) out += BASE32[Number((bits >> BigInt(5 * i)) & 31n)];
  return `rp_${out}`;
}

const principalName = (p: Principal) => `${p.method}:${p.email ?? p.subject}`;

export async function startReplay(
  env: Env,
  request: ReplayStart,
  actor: Principal,
  now: Date,
): Promise<Result<ReplayRecord>> {
  if (Date.parse(request.to) > now.getTime()) {
    return err(
      ErrorCode.validationFailed,
      "to: a replay covers evidence already fetched (to must not be in the future)",
    );
  }
  const strategy = await rpc(env.GOVERNANCE, (g) => g.getStrategy(request.strategyId), {
    what: "governance.getStrategy",
  });
  if (!strategy.ok) {
    return strategy.error.code === ErrorCode.notFound
      ? err(ErrorCode.unknownReference, `no strategy ${request.strategyId}`)
      : strategy;
  }
  const limits = await rpc(env.RISK, (r) => r.getLimits(), { what: "risk.getLimits" });
  if (!limits.ok) return limits;
  const pairs = await rpc(env.GOVERNANCE, (g) => g.tradablePairs(), { what: "governance.tradablePairs" });
  if (!pairs.ok) return pairs;

  const params = (request.params ?? strategy.value.params) as Record<string, JsonValue>;
  const latencyMs = request.latencyMs ?? DEFAULT_LATENCY_MS;
  const window = { from: new Date(request.from).toISOString(), to: new Date(request.to).toISOString() };
  const record: ReplayRecord = {
    id: newReplayId(),
    strategyId: strategy.value.id,
    paramsHash: await paramsHash(params),
    window,
    status: "running",
    requestedAt: now.toISOString(),
    requestedBy: principalName(actor),
    sightings: 0,
    totalSightings: await countFetches(env.D1_MARKETS, window),
    completedAt: null,
    reportHash: null,
    summary: null,
    failure: null,
  };
  const categories = await legCategories(
    env.D1_MARKETS,
    pairs.value.map((p) => p.kalshi.marketId),
  );
  const state = engineStart({
    strategy: {
      id: strategy.value.id,
      kind: strategy.value.kind,
      params,
      allocation: strategy.value.allocation,
    },
    pairs: pairs.value,
    categories,
    limits: limits.value,
    latencyMs,
    window,
    codeVersion: env.CODE_VERSION ?? "dev",
  });

  const audited = await auditAppend(env.AUDIT, {
    type: "ingestion.replay_requested",
    service: "ingestion",
    actor,
    payload: {
      replayId: record.id,
      strategyId: record.strategyId,
      paramsHash: record.paramsHash,
      window,
      latencyMs,
    },
  });
  if (!audited.ok) return audited;
  await insertReplay(env.D1_MARKETS, record);
  const progress: RunProgress<unknown> = {
    window: { fromMs: Date.parse(window.from), toMs: Date.parse(window.to) },
    cursor: null,
    drained: false,
    sightings: 0,
    steps: 0,
    state,
    finished: null,
  };
  const begun = await env.REPLAY_RUN.getByName(record.id).begin({ record, progress });
  return ok(begun as ReplayRecord);
}
