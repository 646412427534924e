// The report of a finished replay: its manifest (what ran, over which evidence, with which engine and build: all
// that a second run needs to give the same report) and its summary, trades, equity curve and exposure.
import type { ExposurePoint, JsonValue, ReplayReport } from "@paulp/contracts";
import { formatDollars, formatFixed, parseDollars } from "@paulp/kit";
import { consumedHashes } from "./evidence";
import { fraction, maxDrawdown, sampleCurve, tally } from "./metrics";
import { settleDue } from "./orders";
import { ENGINE_VERSION, iso, type ReplayState } from "./state";

/** The report of a finished replay (orders still waiting fill against the last books recorded). */
export function finish(state: ReplayState): ReplayReport {
  const st: ReplayState = structuredClone(state);
  settleDue(st, Number.POSITIVE_INFINITY);
  const c = st.config;
  const start = parseDollars(c.startingEquity);
  const ending = st.curve.at(-1)?.equity ?? start;
  const dd = maxDrawdown([start, ...st.curve.map((p) => p.equity)]);
  const sampled = sampleCurve(st.curve, c.curveIntervalMs ?? 60_000);
  const exposure: ExposurePoint[] = sampled.map((p) => ({
    at: iso(p.atMs),
    byCategory: Object.fromEntries(Object.entries(p.byCategory).map(([k, v]) => [k, formatDollars(v, 4)])),
  }));
  return {
    manifest: {
      strategy: {
        id: c.strategy.id,
        kind: c.strategy.kind,
        params: c.strategy.params,
        allocation: c.strategy.allocation,
      },
      pairs: c.pairs,
      startingEquity: c.startingEquity,
      window: c.window,
      // The limits as the JSON they are hashed as (an absent optional limit is no key).
      risk: {
        limits: JSON.parse(JSON.stringify(c.risk.limits)) as JsonValue,
        limitsVersion: c.risk.limitsVersion,
      },
      fill: { latencyMs: c.latencyMs },
      engineVersion: ENGINE_VERSION,
      codeVersion: c.codeVersion,
      evidence: consumedHashes(st.consumed.map((hash) => ({ hash }))),
      sightings: st.consumed.length,
    },
    summary: {
      decisions: st.decisions,
      orders: st.trades.length,
      fills: st.trades.filter((t) => t.filled > 0).length,
      startingEquity: formatDollars(start, 4),
      endingEquity: formatDollars(ending, 4),
      pnl: formatDollars(ending - start, 4),
      fees: formatDollars(st.fees, 4),
      maxDrawdown: formatDollars(dd.amount, 4),
      maxDrawdownFraction: formatFixed(dd.fractionUnits, 4),
      turnover: formatDollars(st.turnover, 4),
      denialsByCode: tally(st.denials),
      staleDecisionShare: fraction(st.staleDecisions, st.decisions),
      evidenceFrom: st.evidenceFromMs == null ? null : iso(st.evidenceFromMs),
      evidenceTo: st.evidenceToMs == null ? null : iso(st.evidenceToMs),
      // Whole seconds, rounded up (a gap is never understated); null without evidence or when not known.
      largestEvidenceGapSeconds:
        st.evidenceToMs == null || st.largestGapMs == null ? null : Math.ceil(st.largestGapMs / 1000),
    },
    trades: st.trades,
    equityCurve: sampled.map((p) => ({ at: iso(p.atMs), equity: formatDollars(p.equity, 4) })),
    exposure,
  };
}
