// The replay engine (#18): a strategy run over verified evidence with the mesh's own code. Each sighting is decoded
// as ingestion decodes it (@paulp/venue-decode: market pages → marks, books → books), a book of a pair's leg runs
// the strategy's signal (@paulp/strategy), the intent is evaluated by risk's own rules over the replay's own
// portfolio (@paulp/risk-rules: same limits, same breaker table), and an approved order fills with `paperFill`
// against the leg's book in force at decision + latency. Pure: no clock (time is the sightings' fetch time), no
// network, no storage; the state is plain JSON, so a Durable Object can persist it between bounded steps.
//
// The modules: `state.ts` (the state, the config, the engine's version), `sighting.ts` (one sighting read and
// decoded), `orders.ts` (a decision, a fill), `portfolio.ts` (after each change), `finish.ts` (the report).
// This one steps through the timeline.
import type { ReplayRefusal, ReplayReport } from "@paulp/contracts";
import { parseLimits } from "@paulp/risk-rules";
import { type EvidenceSet, type VerifiedSighting, verifiedTimeline } from "./evidence";
import { finish } from "./finish";
import { settleDue } from "./orders";
import { consume } from "./sighting";
import { type ReplayConfig, type ReplayState, startReplay } from "./state";

export { finish } from "./finish";
export { ENGINE_VERSION, type ReplayConfig, type ReplayPair, type ReplayState, startReplay } from "./state";

/**
 * Replay at most `maxSightings` more sightings of `timeline` (the `verifiedTimeline` of the run's evidence, the
 * same each step) and return the new state. The state passed in is not changed.
 */
export function step(
  state: ReplayState,
  timeline: readonly VerifiedSighting[],
  maxSightings: number,
): ReplayState {
  const st: ReplayState = structuredClone(state);
  // A run started before engine version 2 (a deploy mid-replay) has no per-minute record yet.
  st.orderedMinute ??= {};
  // Nor (before .4) the gaps of the sightings it replayed: unknown, unless it had replayed none.
  if (st.largestGapMs === undefined) st.largestGapMs = st.evidenceToMs == null ? 0 : null;
  const limits = parseLimits(st.config.risk.limits, st.config.risk.limitsVersion);
  if (!limits) throw new Error("the replay's risk limits do not parse");
  const end = Math.min(timeline.length, st.cursor + Math.max(0, Math.floor(maxSightings)));
  for (; st.cursor < end; st.cursor++) {
    const s = timeline[st.cursor]!;
    // Orders due before this sighting fill against the books in force until now.
    settleDue(st, s.atMs);
    st.consumed.push(s.hash);
    // (`??`: a state saved by an engine before .3 has neither; it counts from the sightings it replays now.)
    st.evidenceFromMs ??= s.atMs;
    if (st.evidenceToMs != null && st.largestGapMs !== null)
      st.largestGapMs = Math.max(st.largestGapMs, s.atMs - st.evidenceToMs);
    st.evidenceToMs = s.atMs;
    const outcome = consume(st, s, limits);
    if (outcome === "skipped") st.skipped++;
    else if (outcome === "undecodable") st.undecodable++;
  }
  return st;
}

/** True when every sighting of `timeline` has been replayed. */
export function isDone(state: ReplayState, timeline: readonly VerifiedSighting[]): boolean {
  return state.cursor >= timeline.length;
}

/**
 * A whole replay in one call (offline, or a test): every object re-hashed first (`verifiedTimeline`: one changed
 * byte refuses the set, naming the object), then the window's sightings in steps of `stepSize`, then the report.
 */
export async function runReplay(
  set: EvidenceSet,
  config: ReplayConfig,
  stepSize = 1_000,
): Promise<{ ok: true; report: ReplayReport } | { ok: false; refusal: ReplayRefusal }> {
  const timeline = await verifiedTimeline(set, {
    fromMs: Date.parse(config.window.from),
    toMs: Date.parse(config.window.to),
  });
  if (!timeline.ok) return timeline;
  let state = startReplay(config);
  while (!isDone(state, timeline.sightings)) state = step(state, timeline.sightings, stepSize);
  return { ok: true, report: finish(state) };
}
