import { DEFAULT_RISK_LIMITS, PERCENT_LIMITS, type RiskLimits } from "@paulp/contracts";
import { orNull, parseDollars, parsePct } from "@paulp/kit";
import { correlatedWith, correlationIndex, type LossLimits, parseLimits } from "./limit-rules";

/** The specification's defaults (5/10/15/30/3/10 %) plus conservative pre-trade basics (contracts' value). */
export const DEFAULT_LIMITS: RiskLimits = DEFAULT_RISK_LIMITS;

/**
 * The limits a change raises (loosens). A higher figure loosens; so does taking a market out of a
 * correlation group (its correlated exposure then counts less). An empty list means the change only tightens.
 */
export function raisedLimits(current: RiskLimits, next: RiskLimits): string[] {
  const raised: string[] = [];
  for (const f of PERCENT_LIMITS) {
    const a = orNull(() => parsePct(current[f]));
    const b = orNull(() => parsePct(next[f]));
    if (a === null || b === null || b > a) raised.push(f);
  }
  for (const f of ["maxOrderQuantity", "maxOrdersPerMinute", "maxMarkAgeSeconds"] as const) {
    if (next[f] > current[f]) raised.push(f);
  }
  const notionalA = orNull(() => parseDollars(current.maxOrderNotional));
  const notionalB = orNull(() => parseDollars(next.maxOrderNotional));
  if (notionalA === null || notionalB === null || notionalB > notionalA) raised.push("maxOrderNotional");
  const probeA = parseLimits(current, 0)?.probeNotional;
  const probeB = parseLimits(next, 0)?.probeNotional;
  if (probeA === undefined || probeB === undefined || probeB > probeA) raised.push("recoveryProbeNotional");
  // The collar: wider is looser (absent fields are the defaults).
  const collarA = parseLimits(current, 0);
  const collarB = parseLimits(next, 0);
  if (!collarA || !collarB || collarB.collarPct > collarA.collarPct) raised.push("priceCollarPct");
  if (!collarA || !collarB || collarB.collarMin > collarA.collarMin) raised.push("priceCollarMinimum");
  const groupsA = collarA?.correlation ?? correlationIndex({});
  const groupsB = collarB?.correlation ?? correlationIndex({});
  for (const market of groupsA.setOf.keys()) {
    const now = new Set(correlatedWith(groupsB, market));
    if (correlatedWith(groupsA, market).some((m) => !now.has(m))) {
      raised.push("correlationGroups");
      break;
    }
  }
  return raised;
}

/**
 * The loss limits in force when the stored limits do not parse as a whole: for each of the daily loss and the
 * drawdown, the stricter of the default and the stored figure if that one still parses. A corrupted record
 * never switches the loss HALT off, nor loosens it.
 */
export function strictestLossLimits(stored: unknown): LossLimits {
  const figure = (field: "maxDailyLossPct" | "maxDrawdownPct"): number => {
    const fallback = parsePct(DEFAULT_LIMITS[field]);
    const raw =
      typeof stored === "object" && stored !== null ? (stored as Record<string, unknown>)[field] : null;
    const own = typeof raw === "string" ? orNull(() => parsePct(raw)) : null;
    return own !== null && own >= 0 && own < fallback ? own : fallback;
  };
  return { dailyLossPct: figure("maxDailyLossPct"), drawdownPct: figure("maxDrawdownPct") };
}
