import type { CorrelationIndex } from "./limit-rules";
import type { RiskView } from "./view";

// The view's correlated-set bookkeeping (pure): a running gross exposure per correlated set of the limits'
// groups, moved with each member market's exposure, so the correlated-exposure check reads one figure.

/** Σ market exposure over each correlated set of `groups` (O(markets × the sets each is in)). */
export function groupTotals(marketExposure: Map<string, number>, groups: CorrelationIndex | null): number[] {
  const totals = new Array<number>(groups?.sets.length ?? 0).fill(0);
  if (!groups) return totals;
  for (const [mk, exposure] of marketExposure)
    for (const n of groups.memberOf.get(mk) ?? []) totals[n] = totals[n]! + exposure;
  return totals;
}

/**
 * Keep the group totals for other correlation groups (the limits changed): recomputed from the market
 * exposures, O(markets); nothing else in the view depends on the limits.
 */
export function regroupView(view: RiskView, groups: CorrelationIndex | null): void {
  view.groups = groups;
  view.groupExposure = groupTotals(view.marketExposure, groups);
}

/**
 * The gross exposure of market `mk` and every market correlated with it under `groups`, itself included: the
 * view's running total when it keeps one for these groups (O(1)), else summed over the set.
 */
export function correlatedExposure(view: RiskView, groups: CorrelationIndex, mk: string): number {
  const n = groups.setOf.get(mk);
  if (n === undefined) return view.marketExposure.get(mk) ?? 0;
  if (view.groups === groups) return view.groupExposure[n]!;
  let sum = 0;
  for (const k of groups.sets[n]!) sum += view.marketExposure.get(k) ?? 0;
  return sum;
}

/** Move market `mk`'s exposure by `change`: its own figure and the total of every correlated set it is in. */
export function moveMarketExposure(view: RiskView, mk: string, change: number): void {
  view.marketExposure.set(mk, (view.marketExposure.get(mk) ?? 0) + change);
  const sets = view.groups?.memberOf.get(mk);
  if (sets) for (const n of sets) view.groupExposure[n] = view.groupExposure[n]! + change;
}
