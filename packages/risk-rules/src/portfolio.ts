import type { FillReport, MarkUpdate, Venue } from "@paulp/contracts";
import { MICROS_PER_DOLLAR, mulDiv, notional, orNull, parseDollars, parseQuantity } from "@paulp/kit";

// Portfolio state and its valuation, on the money module's units (@paulp/kit): money in integer micros, quantities
// in integer hundredths of a contract (Kalshi fills at 0.01 granularity), so qty × price is exact.
// Equity = cash + Σ quantity × mark over open positions (linear mark-to-market; a short YES is a negative
// quantity). The state is owned by the RiskGovernor Durable Object and updated in place for speed.

/** One strategy's position in one market. */
export interface Position {
  strategyId: string;
  venue: Venue;
  market: string;
  /** Signed hundredths of a contract (negative = short). */
  qty: number;
  /** Cost basis of the open quantity, signed like `qty`, in micros. */
  cost: number;
}

/** The latest mark of a market. */
export interface Mark {
  venue: Venue;
  market: string;
  price: number | null;
  category: string | null;
  evidenceHash: string;
  observedAtMs: number;
  /** The book's best YES bid and ask in the same observation (micros), when ingestion sent them. */
  bestBid?: number | null;
  bestAsk?: number | null;
}

/** The whole portfolio, as persisted. */
export interface PortfolioState {
  /** The units of every amount in it (see `STATE_UNITS`); absent in state stored before units had a version. */
  units?: number;
  startingEquity: number | null;
  cash: number;
  realised: number;
  positions: Record<string, Position>;
  marks: Record<string, Mark>;
  /** UTC day (YYYY-MM-DD) of `dayStartEquity`. */
  day: string | null;
  dayStartEquity: number | null;
  highWaterMark: number | null;
  /**
   * Applied fill ids with the time they were applied, in that order, to refuse duplicates. The Durable Object
   * persists each under its own key and prunes them after a retention period (see `risk-governor.ts`).
   */
  fillIds: Record<string, number>;
}

/** The units persisted state is in: 2 = micros and hundredths (1, unversioned: 1e-4 $ and whole contracts). */
export const STATE_UNITS = 2;

/** `venue:market`, the key of marks, exposures and correlation groups. */
export function marketKey(venue: string, market: string): string {
  return `${venue}:${market}`;
}

/** `strategy|venue:market`, the key of a position. */
export function positionKey(strategyId: string, venue: string, market: string): string {
  return `${strategyId}|${venue}:${market}`;
}

/** A fresh portfolio; `startingEquity` null means "no equity figure" (every opening order is denied). */
export function emptyPortfolio(startingEquity: number | null): PortfolioState {
  return {
    units: STATE_UNITS,
    startingEquity,
    cash: startingEquity ?? 0,
    realised: 0,
    positions: {},
    marks: {},
    day: null,
    dayStartEquity: null,
    highWaterMark: startingEquity,
    fillIds: {},
  };
}

/**
 * Money at risk of a position at `price`: a long pays `price` per contract; a short YES on a prediction
 * market can lose `1 - price` per contract; elsewhere a short is valued at `price` too.
 */
export function exposureUnits(venue: Venue, qty: number, price: number): number {
  if (qty >= 0) return notional(qty, price);
  return venue === "ibkr" ? notional(-qty, price) : notional(-qty, MICROS_PER_DOLLAR - price);
}

/** Apply a mark; an older observation than the stored one is ignored. Returns whether it changed state. */
export function applyMark(state: PortfolioState, mark: MarkUpdate): { applied: boolean; error?: string } {
  const observedAtMs = Date.parse(mark.observedAt);
  if (!Number.isFinite(observedAtMs)) return { applied: false, error: "observedAt is not a time" };
  let price: number | null = null;
  if (mark.price !== null) {
    price = orNull(() => parseDollars(mark.price!));
    if (price === null || price <= 0)
      return { applied: false, error: `price ${mark.price} is not a positive decimal` };
    // A binary contract is worth at most $1: a larger mark would overvalue longs and turn shorts' exposure
    // negative (offsetting category and group totals).
    if ((mark.venue === "kalshi" || mark.venue === "polymarket") && price > MICROS_PER_DOLLAR)
      return { applied: false, error: `price ${mark.price} is above $1 for a ${mark.venue} contract` };
  }
  const key = marketKey(mark.venue, mark.market);
  const prev = state.marks[key];
  if (prev && prev.observedAtMs > observedAtMs) return { applied: false };
  // A side of the book only collars orders (never values anything): one that makes no sense is left out.
  const side = (text: string | null | undefined): number | null => {
    const units = text === null || text === undefined ? null : orNull(() => parseDollars(text));
    const binary = mark.venue === "kalshi" || mark.venue === "polymarket";
    return units === null || units <= 0 || (binary && units > MICROS_PER_DOLLAR) ? null : units;
  };
  const bestBid = side(mark.bestBid);
  const bestAsk = side(mark.bestAsk);
  state.marks[key] = {
    venue: mark.venue,
    market: mark.market,
    price,
    ...(bestBid !== null ? { bestBid } : {}),
    ...(bestAsk !== null ? { bestAsk } : {}),
    // A mark that does not say the category does not erase the one known: moving a held position's exposure
    // to "(uncategorised)" would free room in its real category for other markets.
    category: mark.category ?? prev?.category ?? null,
    evidenceHash: mark.evidenceHash,
    observedAtMs,
  };
  return { applied: true };
}

/**
 * Apply a fill: cash, position, cost basis and realised P&L. A fill id already applied is ignored.
 * `appliedAtMs` is recorded against the fill id (the Durable Object prunes ids by it); without it the fill's
 * own time is used.
 */
export function applyFill(
  state: PortfolioState,
  fill: FillReport,
  appliedAtMs?: number,
): { applied: boolean; error?: string } {
  if (state.fillIds[fill.fillId] !== undefined) return { applied: false };
  const price = orNull(() => parseDollars(fill.price));
  const fee = orNull(() => parseDollars(fill.fee));
  if (price === null || price <= 0 || fee === null || fee < 0)
    return { applied: false, error: "price or fee malformed" };
  const qty = orNull(() => parseQuantity(fill.quantity));
  if (qty === null || qty <= 0)
    return { applied: false, error: "quantity is not a positive multiple of 0.01" };
  const delta = fill.side === "buy" ? qty : -qty;
  const key = positionKey(fill.strategyId, fill.venue, fill.market);
  // Work on copies and commit at the end, so a refused fill (overflow) leaves the state untouched.
  const stored = state.positions[key];
  const pos: Position = stored
    ? { ...stored }
    : { strategyId: fill.strategyId, venue: fill.venue, market: fill.market, qty: 0, cost: 0 };
  // A sum past 2^53 (the money module throws MoneyError) refuses the fill as an overflow.
  const moved = orNull(() => {
    const cash = state.cash - notional(delta, price) - fee;
    let realised = state.realised - fee;
    if (pos.qty === 0 || Math.sign(pos.qty) === Math.sign(delta)) {
      pos.qty += delta;
      pos.cost += notional(delta, price);
    } else {
      // Reducing (and maybe flipping): realise P&L on the closed part at its average cost (floored).
      const closed = Math.min(Math.abs(delta), Math.abs(pos.qty));
      const closedCost = mulDiv(pos.cost, closed, Math.abs(pos.qty), "trunc");
      const proceeds = Math.sign(pos.qty) * notional(closed, price);
      realised += proceeds - closedCost;
      pos.cost -= closedCost;
      pos.qty += delta;
      if (pos.qty === 0) pos.cost = 0;
      else if (Math.sign(pos.qty) === Math.sign(delta)) pos.cost = notional(pos.qty, price); // flipped: new basis
    }
    return { cash, realised };
  });
  if (moved === null) return { applied: false, error: "overflow" };
  const { cash, realised } = moved;
  if (!Number.isSafeInteger(cash) || !Number.isSafeInteger(pos.cost) || !Number.isSafeInteger(realised))
    return { applied: false, error: "overflow" };
  state.cash = cash;
  state.realised = realised;
  if (pos.qty === 0) delete state.positions[key];
  else state.positions[key] = pos;
  state.fillIds[fill.fillId] = appliedAtMs ?? (Date.parse(fill.ts) || 0);
  return { applied: true };
}

/** Equity and unrealised P&L; equity is null without a starting equity or when an open position has no mark price. */
export function valuation(state: PortfolioState): {
  equity: number | null;
  unrealised: number | null;
  unmarked: string[];
} {
  if (state.startingEquity === null) return { equity: null, unrealised: null, unmarked: [] };
  let value = 0;
  let unrealised = 0;
  const unmarked: string[] = [];
  for (const [key, pos] of Object.entries(state.positions)) {
    const price = state.marks[marketKey(pos.venue, pos.market)]?.price ?? null;
    if (price === null) {
      unmarked.push(key);
      continue;
    }
    const worth = notional(pos.qty, price);
    value += worth;
    unrealised += worth - pos.cost;
  }
  const equity = state.cash + value;
  if (unmarked.length > 0 || !Number.isSafeInteger(equity))
    return { equity: null, unrealised: null, unmarked };
  return { equity, unrealised, unmarked };
}

/** UTC day of a time. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Roll the day's starting equity at UTC midnight and raise the high-water mark; call after every change. */
export function updateWatermarks(state: PortfolioState, equity: number | null, nowMs: number): void {
  if (equity === null) return;
  const today = utcDay(nowMs);
  if (state.day !== today || state.dayStartEquity === null) {
    state.day = today;
    state.dayStartEquity = equity;
  }
  if (state.highWaterMark === null || equity > state.highWaterMark) state.highWaterMark = equity;
}

/**
 * Set the capital base to `target` equity (micros). A deposit or withdrawal is not P&L: cash moves by
 * the difference and so do the day's starting equity and the high-water mark, so neither a new allocation
 * nor a withdrawal reads as a gain, a daily loss or a drawdown. The first allocation (no equity yet) sets
 * them all. Refused (null) while an open position has no mark: the current equity is unknown.
 */
export function applyCapitalChange(
  state: PortfolioState,
  target: number,
  nowMs: number,
): { previous: number | null } | null {
  if (!Number.isSafeInteger(target) || target <= 0) return null;
  if (state.startingEquity === null) {
    let positionsValue = 0;
    for (const pos of Object.values(state.positions)) {
      const price = state.marks[marketKey(pos.venue, pos.market)]?.price ?? null;
      if (price === null) return null;
      positionsValue += notional(pos.qty, price);
    }
    state.startingEquity = target;
    state.cash = target - positionsValue;
    state.day = utcDay(nowMs);
    state.dayStartEquity = target;
    state.highWaterMark = target;
    return { previous: null };
  }
  const current = valuation(state).equity;
  if (current === null) return null;
  const delta = target - current;
  state.cash += delta;
  if (state.dayStartEquity !== null) state.dayStartEquity += delta;
  if (state.highWaterMark !== null) state.highWaterMark += delta;
  return { previous: current };
}
