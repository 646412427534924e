import type { RiskLimits } from "@paulp/contracts";
import { parsePct, parseUnits } from "./decimal";
import { parseLimits } from "./evaluate";

/** The specification's defaults (5/10/15/30/3/10 %) plus conservative pre-trade basics. */
export const DEFAULT_LIMITS: RiskLimits = {
  maxPositionPct: "5",
  maxConcentrationPct: "10",
  maxMarketExposurePct: "15",
  maxCategoryExposurePct: "30",
  maxDailyLossPct: "3",
  maxDrawdownPct: "10",
  maxOrderQuantity: 5_000,
  maxOrderNotional: "2500.00",
  maxOrdersPerMinute: 60,
  maxMarkAgeSeconds: 120,
  correlationGroups: {},
};

/**
 * The limits a change raises (loosens). A higher figure loosens; so does taking a market out of a
 * correlation group (its correlated exposure then counts less). An empty list means the change only tightens.
 */
export function raisedLimits(current: RiskLimits, next: RiskLimits): string[] {
  const raised: string[] = [];
  const pctFields = [
    "maxPositionPct",
    "maxConcentrationPct",
    "maxMarketExposurePct",
    "maxCategoryExposurePct",
    "maxDailyLossPct",
    "maxDrawdownPct",
  ] as const;
  for (const f of pctFields) {
    const a = parsePct(current[f]);
    const b = parsePct(next[f]);
    if (a === null || b === null || b > a) raised.push(f);
  }
  for (const f of ["maxOrderQuantity", "maxOrdersPerMinute", "maxMarkAgeSeconds"] as const) {
    if (next[f] > current[f]) raised.push(f);
  }
  const notionalA = parseUnits(current.maxOrderNotional);
  const notionalB = parseUnits(next.maxOrderNotional);
  if (notionalA === null || notionalB === null || notionalB > notionalA) raised.push("maxOrderNotional");
  const probeA = parseLimits(current, 0)?.probeNotional;
  const probeB = parseLimits(next, 0)?.probeNotional;
  if (probeA === undefined || probeB === undefined || probeB > probeA) raised.push("recoveryProbeNotional");
  const groupsA = parseLimits(current, 0)?.correlated ?? new Map<string, string[]>();
  const groupsB = parseLimits(next, 0)?.correlated ?? new Map<string, string[]>();
  for (const [market, members] of groupsA) {
    const now = new Set(groupsB.get(market) ?? [market]);
    if (members.some((m) => !now.has(m))) {
      raised.push("correlationGroups");
      break;
    }
  }
  return raised;
}
