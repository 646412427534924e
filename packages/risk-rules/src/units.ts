import { type Mark, type PortfolioState, type Position, STATE_UNITS } from "./portfolio";
import type { Reservation } from "./view";

// Risk's state was stored in 1e-4 dollars and whole contracts before quantities became hundredths (Kalshi fills
// at 0.01) and money micros (so hundredths × a 4-decimal price stays exact). A Durable Object that wakes with
// unversioned state converts it once, in the turn that loads it, before any evaluation reads it.

/** 1e-4 $ → micros, and whole contracts → hundredths: both ×100. */
const UP = 100;

const money = (x: number | null | undefined): number | null | undefined =>
  typeof x === "number" ? x * UP : x;

/**
 * Convert state stored in the old units in place; false when it is already in `STATE_UNITS` (nothing done).
 * Positions, marks and reservations are the stored values under their own keys: the caller writes back all of
 * them and the portfolio record.
 */
export function upgradeUnits(
  state: PortfolioState,
  positions: Record<string, Position>,
  marks: Record<string, Mark>,
  reservations: Record<string, Reservation>,
): boolean {
  if (state.units === STATE_UNITS) return false;
  state.units = STATE_UNITS;
  state.startingEquity = money(state.startingEquity) ?? null;
  state.cash *= UP;
  state.realised *= UP;
  state.dayStartEquity = money(state.dayStartEquity) ?? null;
  state.highWaterMark = money(state.highWaterMark) ?? null;
  for (const p of Object.values(positions)) {
    p.qty *= UP;
    p.cost *= UP;
  }
  for (const m of Object.values(marks)) {
    m.price = money(m.price) ?? null;
    if (typeof m.bestBid === "number") m.bestBid *= UP;
    if (typeof m.bestAsk === "number") m.bestAsk *= UP;
  }
  for (const r of Object.values(reservations)) {
    r.qty *= UP;
    if (typeof r.priceUnits === "number") r.priceUnits *= UP;
  }
  return true;
}
