import type { OrderIntent, Venue } from "@paulp/contracts";
import { notional as notionalOf, orNull, parseDollars, worstCaseFee } from "@paulp/kit";
import type { CorrelationIndex } from "./limit-rules";
import {
  exposureUnits,
  type Mark,
  marketKey,
  type PortfolioState,
  positionKey,
  valuation,
} from "./portfolio";
import { groupTotals, moveMarketExposure } from "./view-groups";
import { heapPush, noteHeldMark, settleOldest, trackHeld } from "./view-held";

/**
 * Risk's portfolio view (pure): the aggregates one evaluation reads, built once from the portfolio and the
 * reservations, then updated in place by a fill, a mark or a reservation, touching only what changed. Its
 * correlated-set totals are kept by view-groups.ts, its held markets and oldest held mark by view-held.ts.
 */

/** The category of a market no category is known for. */
export const UNCATEGORISED = "(uncategorised)";

/**
 * An approved order not yet filled, ended or expired. An opening/increasing one counts as if filled (exposure);
 * a reducing/closing one (`reduces`) does not lower exposure before it fills, but counts in the effect check, so
 * two orders cannot together reduce a position past flat.
 */
export interface Reservation {
  posKey: string;
  venue: Venue;
  market: string;
  /** Signed contracts. */
  qty: number;
  clientOrderId: string;
  expiresAtMs: number;
  reduces?: boolean;
  /**
   * The order's limit price in money units: an opening order reserves its worst-case loss (the adverse
   * slippage from the mark to this price) and its fee, as if filled here. Reservations stored before this field
   * existed count at their market's mark (no slippage).
   */
  priceUnits?: number;
}

/** Aggregates of the portfolio that one evaluation reads (built once per change, O(positions)). */
export interface RiskView {
  equity: number | null;
  dayStartEquity: number | null;
  highWaterMark: number | null;
  filledQty: Map<string, number>;
  /** Filled plus reserved by opening/increasing orders. */
  effectiveQty: Map<string, number>;
  /** Signed contracts of approved reducing/closing orders not yet filled (not in `effectiveQty`). */
  pendingReduce: Map<string, number>;
  /**
   * What the approved opening orders not yet filled can still cost, as if each filled in full at its limit:
   * the adverse slippage from the current mark, and the fee. Post-trade equity subtracts both, so orders
   * approved back to back cannot together pass a loss limit that one combined order would hit.
   */
  reservedSlippage: number;
  reservedFees: number;
  /** Gross exposure per market (Σ over strategies), reservations included. */
  marketExposure: Map<string, number>;
  categoryExposure: Map<string, number>;
  /** The limits' correlation groups `groupExposure` is kept for (null: none; see `regroupView`). */
  groups: CorrelationIndex | null;
  /**
   * Gross exposure of each correlated set of `groups` (Σ `marketExposure` over its members), moved with every
   * member's exposure, so the correlated-exposure check reads one figure instead of summing the set.
   */
  groupExposure: number[];
  marks: Record<string, Mark>;
  /** Positions (filled or reserved) whose market has no mark price: equity is then unknown. */
  unmarked: string[];
  /** Non-zero positions (filled or reserved) per priced market. */
  heldMarkets: Map<string, number>;
  /**
   * When the oldest mark valuing a held position was observed (null: nothing held). Older than the mark-age
   * limit, that position's value is doubtful and could hide a loss: opening orders are then denied `NO_EQUITY`.
   */
  oldestHeldMarkMs: number | null;
  /** What keeps the view updatable in place: read by the update functions below only. */
  index: ViewIndex;
}

/**
 * The view's own indexes, so an update touches only what changed: the position keys of each market (a mark
 * revalues those only), and the held markets' mark times in a lazy min-heap (the oldest held mark without a
 * scan; entries whose market is no longer held, or whose mark has moved on, are dropped when they surface).
 */
export interface ViewIndex {
  /** Per market key: every position key filled or reserved there (a key whose quantities are zero may stay). */
  byMarket: Map<string, Set<string>>;
  /** [observedAtMs, marketKey] of held markets, a binary min-heap on the time. */
  heldHeap: [number, string][];
}

/**
 * Build the aggregates evaluation reads; `groups` are the limits' correlation groups the view keeps a running
 * total for (without them, the correlated-exposure check sums the set each time).
 */
export function buildView(
  state: PortfolioState,
  reservations: Iterable<Reservation>,
  groups: CorrelationIndex | null = null,
): RiskView {
  const filledQty = new Map<string, number>();
  const effectiveQty = new Map<string, number>();
  const pendingReduce = new Map<string, number>();
  const where = new Map<string, { venue: Venue; market: string }>();
  for (const [key, pos] of Object.entries(state.positions)) {
    filledQty.set(key, pos.qty);
    effectiveQty.set(key, pos.qty);
    where.set(key, pos);
  }
  let reservedSlippage = 0;
  let reservedFees = 0;
  for (const r of reservations) {
    if (r.reduces) {
      pendingReduce.set(r.posKey, (pendingReduce.get(r.posKey) ?? 0) + r.qty);
      continue;
    }
    effectiveQty.set(r.posKey, (effectiveQty.get(r.posKey) ?? 0) + r.qty);
    where.set(r.posKey, r);
    const cost = reservedCost(r, r.qty, state.marks[marketKey(r.venue, r.market)]);
    reservedSlippage += cost.slippage;
    reservedFees += cost.fee;
  }
  const marketExposure = new Map<string, number>();
  const categoryExposure = new Map<string, number>();
  const unmarked: string[] = [];
  const heldMarkets = new Map<string, number>();
  let oldestHeldMarkMs: number | null = null;
  for (const [key, qty] of effectiveQty) {
    if (qty === 0) continue;
    const { venue, market } = where.get(key)!;
    const mk = marketKey(venue, market);
    const mark = state.marks[mk];
    if (!mark || mark.price === null) {
      unmarked.push(key);
      continue;
    }
    heldMarkets.set(mk, (heldMarkets.get(mk) ?? 0) + 1);
    if (oldestHeldMarkMs === null || mark.observedAtMs < oldestHeldMarkMs)
      oldestHeldMarkMs = mark.observedAtMs;
    const exp = exposureUnits(venue, qty, mark.price);
    marketExposure.set(mk, (marketExposure.get(mk) ?? 0) + exp);
    const cat = mark.category ?? UNCATEGORISED;
    categoryExposure.set(cat, (categoryExposure.get(cat) ?? 0) + exp);
  }
  const { equity } = valuation(state);
  const byMarket = new Map<string, Set<string>>();
  for (const [key, { venue, market }] of where) indexPosition(byMarket, marketKey(venue, market), key);
  const heldHeap: [number, string][] = [];
  for (const mk of heldMarkets.keys()) heapPush(heldHeap, [state.marks[mk]!.observedAtMs, mk]);
  return {
    equity: unmarked.length > 0 ? null : equity,
    dayStartEquity: state.dayStartEquity,
    highWaterMark: state.highWaterMark,
    filledQty,
    effectiveQty,
    pendingReduce,
    reservedSlippage,
    reservedFees,
    marketExposure,
    categoryExposure,
    groups,
    groupExposure: groupTotals(marketExposure, groups),
    marks: state.marks,
    unmarked,
    heldMarkets,
    oldestHeldMarkMs,
    index: { byMarket, heldHeap },
  };
}

function indexPosition(byMarket: Map<string, Set<string>>, mk: string, posKey: string): void {
  const keys = byMarket.get(mk);
  if (keys) keys.add(posKey);
  else byMarket.set(mk, new Set([posKey]));
}

/**
 * The worst an opening reservation of `qty` contracts can still cost filled at its limit: the adverse slippage
 * from the mark, and the fee. Zero without a mark price (equity is then unknown anyway: openings are denied).
 */
export function reservedCost(
  r: Pick<Reservation, "venue" | "priceUnits">,
  qty: number,
  mark: Mark | undefined,
): { slippage: number; fee: number } {
  if (qty === 0 || !mark || mark.price === null) return { slippage: 0, fee: 0 };
  const price = r.priceUnits ?? mark.price;
  const slippage =
    qty > 0
      ? notionalOf(qty, Math.max(0, price - mark.price))
      : notionalOf(-qty, Math.max(0, mark.price - price));
  return { slippage, fee: worstCaseFee(r.venue, Math.abs(qty), price) };
}

/** Held positions valued at a mark older than `maxAgeMs`, oldest first, with their age in seconds. */
export function staleHeldPositions(view: RiskView, nowMs: number, maxAgeMs: number): [string, number][] {
  const stale: [string, number][] = [];
  for (const [key, qty] of view.effectiveQty) {
    if (qty === 0) continue;
    const mark = view.marks[key.slice(key.indexOf("|") + 1)];
    if (mark && mark.price !== null && nowMs - mark.observedAtMs > maxAgeMs)
      stale.push([key, Math.floor((nowMs - mark.observedAtMs) / 1000)]);
  }
  return stale.sort((a, b) => b[1] - a[1]);
}

/**
 * Apply an approved order to a view in place, as a reservation (used between rebuilds). False when the view
 * cannot be updated exactly: the caller drops it.
 */
export function reserveInView(view: RiskView, intent: OrderIntent, delta: number, reduces = false): boolean {
  const posKey = positionKey(intent.strategyId, intent.venue, intent.market);
  if (reduces) {
    view.pendingReduce.set(posKey, (view.pendingReduce.get(posKey) ?? 0) + delta);
    return true;
  }
  const mk = marketKey(intent.venue, intent.market);
  const mark = view.marks[mk];
  const qe = view.effectiveQty.get(posKey) ?? 0;
  view.effectiveQty.set(posKey, qe + delta);
  indexPosition(view.index.byMarket, mk, posKey);
  if (!mark || mark.price === null) return false;
  trackHeld(view, mk, mark.observedAtMs, qe, qe + delta);
  const cost = reservedCost(
    { venue: intent.venue, priceUnits: orNull(() => parseDollars(intent.limitPrice)) ?? undefined },
    delta,
    mark,
  );
  view.reservedSlippage += cost.slippage;
  view.reservedFees += cost.fee;
  const grow =
    exposureUnits(intent.venue, qe + delta, mark.price) - exposureUnits(intent.venue, qe, mark.price);
  moveExposure(view, mk, mark.category, grow);
  return true;
}

/** A market's exposure moved by `change`: its own, its correlated sets' and its category's totals. */
function moveExposure(view: RiskView, mk: string, category: string | null | undefined, change: number): void {
  moveMarketExposure(view, mk, change);
  const cat = category ?? UNCATEGORISED;
  view.categoryExposure.set(cat, (view.categoryExposure.get(cat) ?? 0) + change);
}

/**
 * Update a view in place for a change of one position: `filledDelta` contracts filled (already applied to the
 * portfolio, whose cash moved by `cashDelta`) and `effectiveDelta` the change of filled-plus-reserved. Returns
 * false when the view cannot be updated exactly (no equity figure, an unmarked position or market, an unsafe
 * sum): the caller then drops the view and rebuilds it. O(log held markets), so a fill does not cost O(positions).
 */
export function shiftPosition(
  view: RiskView,
  where: { posKey: string; venue: Venue; market: string },
  filledDelta: number,
  effectiveDelta: number,
  cashDelta: number,
): boolean {
  const mark = view.marks[marketKey(where.venue, where.market)];
  if (view.equity === null || view.unmarked.length > 0 || !mark || mark.price === null) return false;
  const equity = view.equity + cashDelta + notionalOf(filledDelta, mark.price);
  if (!Number.isSafeInteger(equity)) return false;
  view.equity = equity;
  const qf = (view.filledQty.get(where.posKey) ?? 0) + filledDelta;
  if (qf === 0) view.filledQty.delete(where.posKey);
  else view.filledQty.set(where.posKey, qf);
  const qe = view.effectiveQty.get(where.posKey) ?? 0;
  const grow =
    exposureUnits(where.venue, qe + effectiveDelta, mark.price) - exposureUnits(where.venue, qe, mark.price);
  view.effectiveQty.set(where.posKey, qe + effectiveDelta);
  const mk = marketKey(where.venue, where.market);
  indexPosition(view.index.byMarket, mk, where.posKey);
  trackHeld(view, mk, mark.observedAtMs, qe, qe + effectiveDelta);
  moveExposure(view, mk, mark.category, grow);
  return true;
}

/**
 * A reservation moved by `change` contracts (shrunk by a fill, released, expired): an opening one moves the
 * effective position (`shiftPosition`), a reducing one only the pending reductions. False: rebuild the view.
 */
export function moveReservationInView(
  view: RiskView,
  r: Reservation,
  before: number,
  after: number,
): boolean {
  const change = after - before;
  if (!r.reduces) {
    const mark = view.marks[marketKey(r.venue, r.market)];
    const was = reservedCost(r, before, mark);
    const now = reservedCost(r, after, mark);
    view.reservedSlippage += now.slippage - was.slippage;
    view.reservedFees += now.fee - was.fee;
    return shiftPosition(view, r, 0, change, 0);
  }
  const left = (view.pendingReduce.get(r.posKey) ?? 0) + change;
  if (left === 0) view.pendingReduce.delete(r.posKey);
  else view.pendingReduce.set(r.posKey, left);
  return true;
}

/**
 * A market's mark changed from `before` to the mark now in `view.marks` (the portfolio's, already applied):
 * revalue the positions of that market only — equity, its market and category exposure (moved to the new
 * category if the mark names another), the oldest held mark, and what its opening `reservations` can cost.
 * O(positions and reservations in that market). False when the view cannot be updated exactly (no equity
 * figure, an unmarked position, a held market losing its price, an unsafe sum): the caller rebuilds it.
 */
export function applyMarkInView(
  view: RiskView,
  mk: string,
  before: Mark | undefined,
  reservations: Iterable<Reservation>,
): boolean {
  const after = view.marks[mk];
  if (!after || view.equity === null || view.unmarked.length > 0) return false;
  const p0 = before?.price ?? null;
  const p1 = after.price;
  let equity = view.equity;
  let exposure = 0;
  let held = false;
  for (const key of view.index.byMarket.get(mk) ?? []) {
    const qf = view.filledQty.get(key) ?? 0;
    const qe = view.effectiveQty.get(key) ?? 0;
    if (qf === 0 && qe === 0) continue;
    // With no unmarked position, a held market had a price; one losing it makes equity unknown.
    if (p0 === null || p1 === null) return false;
    if (qf !== 0) equity += notionalOf(qf, p1) - notionalOf(qf, p0);
    if (qe !== 0) {
      held = true;
      exposure += exposureUnits(after.venue, qe, p1);
    }
  }
  if (!Number.isSafeInteger(equity)) return false;
  view.equity = equity;
  for (const r of reservations) {
    if (r.reduces) continue;
    const was = reservedCost(r, r.qty, before);
    const now = reservedCost(r, r.qty, after);
    view.reservedSlippage += now.slippage - was.slippage;
    view.reservedFees += now.fee - was.fee;
  }
  if (!held) return true;
  const exposureBefore = view.marketExposure.get(mk) ?? 0;
  moveMarketExposure(view, mk, exposure - exposureBefore);
  const c0 = before?.category ?? UNCATEGORISED;
  const c1 = after.category ?? UNCATEGORISED;
  view.categoryExposure.set(c0, (view.categoryExposure.get(c0) ?? 0) - exposureBefore);
  view.categoryExposure.set(c1, (view.categoryExposure.get(c1) ?? 0) + exposure);
  if (before?.observedAtMs !== after.observedAtMs) {
    noteHeldMark(view, mk, after.observedAtMs);
    settleOldest(view);
  }
  return true;
}
