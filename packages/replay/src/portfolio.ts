// What follows every change to the replay's portfolio (a mark, a fill), as risk does after one: the watermarks, the
// loss limits (a breach halts, as risk's breaker does) and a point of the equity/exposure curve.
import {
  buildView,
  exposureUnits,
  lossBreach,
  marketKey,
  type ParsedLimits,
  TRANSITIONS,
  UNCATEGORISED,
  updateWatermarks,
  valuation,
} from "@paulp/risk-rules";
import type { ReplayState } from "./state";

/** Watermarks, the loss limits (a breach halts, as risk's breaker does) and a point of the curve. */
export function afterChange(st: ReplayState, atMs: number, limits: ParsedLimits): void {
  const { equity } = valuation(st.portfolio);
  updateWatermarks(st.portfolio, equity, atMs);
  const view = buildView(st.portfolio, Object.values(st.reservations), limits.correlation);
  if (lossBreach(view, limits)) toHalt(st);
  if (equity === null) return;
  const byCategory: Record<string, number> = {};
  for (const pos of Object.values(st.portfolio.positions)) {
    const mark = st.portfolio.marks[marketKey(pos.venue, pos.market)];
    if (pos.qty === 0 || !mark || mark.price === null) continue;
    const cat = mark.category ?? UNCATEGORISED;
    byCategory[cat] = (byCategory[cat] ?? 0) + exposureUnits(pos.venue, pos.qty, mark.price);
  }
  const last = st.curve.at(-1);
  if (last && last.atMs === atMs) st.curve.pop();
  st.curve.push({ atMs, equity, byCategory });
}

export function toHalt(st: ReplayState): void {
  if (TRANSITIONS[st.breaker].HALT === "any") st.breaker = "HALT";
}
