import type { MarkUpdate } from "@paulp/contracts";
import { applyMark, type Mark, marketKey, type PortfolioState } from "./portfolio";
import { applyMarkInView, type Reservation, type RiskView } from "./view";

/** What one batch of marks did to the portfolio and the view. */
export interface MarksEffect {
  /** The first malformed mark's error: nothing in the batch was applied. */
  error?: string;
  /** The market keys whose mark changed, in first-seen order. */
  changed: string[];
  /** The view after the batch: updated in place, or null when it must be rebuilt. */
  view: RiskView | null;
}

/**
 * Apply a batch of marks: all or none (a malformed one restores every mark the batch touched), then the view,
 * revalued market by market for the markets that changed only (`applyMarkInView`), else dropped (null).
 * Plain values in and out; the Durable Object persists what changed.
 */
export function applyMarksEverywhere(
  state: PortfolioState,
  reservations: Record<string, Reservation>,
  view: RiskView | null,
  marks: MarkUpdate[],
): MarksEffect {
  const before = new Map<string, Mark | undefined>();
  const changed = new Set<string>();
  for (const mark of marks) {
    const key = marketKey(mark.venue, mark.market);
    if (!before.has(key)) before.set(key, state.marks[key]);
    const r = applyMark(state, mark);
    if (r.error) {
      for (const [k, prev] of before) {
        if (prev === undefined) delete state.marks[k];
        else state.marks[k] = prev;
      }
      return { error: `mark ${mark.venue}:${mark.market}: ${r.error}`, changed: [], view };
    }
    if (r.applied) changed.add(key);
  }
  if (!view || changed.size === 0) return { changed: [...changed], view };
  // Opening reservations by market, for the changed ones (reservations are few: bounded by the rate limit).
  const reserved = new Map<string, Reservation[]>();
  for (const r of Object.values(reservations)) {
    const mk = marketKey(r.venue, r.market);
    if (r.reduces || !before.has(mk)) continue;
    reserved.set(mk, [...(reserved.get(mk) ?? []), r]);
  }
  for (const mk of changed)
    if (!applyMarkInView(view, mk, before.get(mk), reserved.get(mk) ?? []))
      return { changed: [...changed], view: null };
  return { changed: [...changed], view };
}
