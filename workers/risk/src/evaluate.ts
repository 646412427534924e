import {
  type BreakerState,
  type OrderIntent,
  RiskReasonCode as R,
  type RiskLimits,
  type RiskReason,
  type RiskReasonCode,
  type Venue,
} from "@paulp/contracts";
import {
  FULL_PCT,
  formatDollars,
  formatPct,
  MICROS_PER_DOLLAR,
  mulDiv,
  notional as notionalOf,
  orNull,
  parseDollars,
  parsePct,
  parseQuantity,
  quantityNumber,
  ratioPct,
  withinPct,
  worstCaseFee,
} from "@paulp/kit";
import {
  exposureUnits,
  type Mark,
  marketKey,
  type PortfolioState,
  positionKey,
  valuation,
} from "./portfolio";

/** Micros as dollars with cents, truncated (as every money figure in a reason). */
const money = (micros: number) => formatDollars(micros, 2, "trunc");

// The pure pre-trade check: values in, a decision out. No clock, no I/O: the caller passes `nowMs`, the
// portfolio view, the limits and the breaker state. Every missing or doubtful input denies.

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

/** Limits parsed into integer units once per version. */
export interface ParsedLimits {
  version: number;
  positionPct: number;
  concentrationPct: number;
  marketPct: number;
  categoryPct: number;
  dailyLossPct: number;
  drawdownPct: number;
  maxOrderQuantity: number;
  maxOrderNotional: number;
  maxOrdersPerMinute: number;
  maxMarkAgeMs: number;
  probeNotional: number;
  /** Price collar: percent units of the reference price, and the least width in money units. */
  collarPct: number;
  collarMin: number;
  /** For each market in a correlation group: every market it is correlated with, itself included. */
  correlated: Map<string, string[]>;
}

/** The two limits whose breach by the portfolio itself sends the breaker to HALT. */
export type LossLimits = Pick<ParsedLimits, "dailyLossPct" | "drawdownPct">;

/** The outcome of one evaluation. */
export interface Evaluation {
  approved: boolean;
  reasons: RiskReason[];
  /** A loss limit already broken by the portfolio itself (not by this order): the breaker must go to HALT. */
  breach: "daily_loss" | "drawdown" | null;
  posKey: string;
  /** Signed contracts this order adds to its position. */
  delta: number;
  opensRisk: boolean;
}

/** Everything one evaluation reads. */
export interface EvaluationInput {
  intent: OrderIntent;
  view: RiskView;
  limits: ParsedLimits;
  breakerState: BreakerState;
  nowMs: number;
  approvalsLastMinute: number;
  clientOrderIdUsed: boolean;
}

const UNCATEGORISED = "(uncategorised)";
/** Clock skew tolerated on a mark's observedAt before it counts as "from the future". */
export const MARK_FUTURE_SKEW_MS = 5_000;

/** Price range and tick per venue, in micros. */
export const VENUE_PRICE_RULES: Record<Venue, { min: number; max: number; tick: number }> = {
  kalshi: { min: 10_000, max: 990_000, tick: 10_000 },
  polymarket: { min: 1_000, max: 999_000, tick: 1_000 },
  ibkr: { min: 10_000, max: 10_000_000_000, tick: 10_000 },
};

/** The least quantity step per venue, in hundredths: Kalshi counts at 0.01; IBKR orders are whole shares. */
export const VENUE_LOT: Record<Venue, number> = { kalshi: 1, polymarket: 1, ibkr: 100 };

/** The price collar when the stored limits do not say: 10 % of the reference, at least $0.05. */
export const DEFAULT_COLLAR_PCT = "10";
export const DEFAULT_COLLAR_MINIMUM = "0.05";

/** Parse limits into units; null if any figure is malformed (the caller fails closed). */
export function parseLimits(limits: RiskLimits, version: number): ParsedLimits | null {
  const pcts = [
    limits.maxPositionPct,
    limits.maxConcentrationPct,
    limits.maxMarketExposurePct,
    limits.maxCategoryExposurePct,
    limits.maxDailyLossPct,
    limits.maxDrawdownPct,
  ].map((p) => orNull(() => parsePct(p)));
  const notional = orNull(() => parseDollars(limits.maxOrderNotional));
  const probe =
    limits.recoveryProbeNotional === undefined
      ? null
      : orNull(() => parseDollars(limits.recoveryProbeNotional!));
  if (pcts.some((p) => p === null || p < 0) || notional === null || notional <= 0) return null;
  if (limits.recoveryProbeNotional !== undefined && (probe === null || probe < 0)) return null;
  // The collar's defaults (10 %, $0.05) apply to limits stored before it existed.
  const collarPct = orNull(() => parsePct(limits.priceCollarPct ?? DEFAULT_COLLAR_PCT));
  const collarMin = orNull(() => parseDollars(limits.priceCollarMinimum ?? DEFAULT_COLLAR_MINIMUM));
  if (collarPct === null || collarPct < 0 || collarMin === null || collarMin < 0) return null;
  const correlated = new Map<string, string[]>();
  for (const members of Object.values(limits.correlationGroups)) {
    for (const m of members) {
      const set = new Set(correlated.get(m) ?? [m]);
      for (const other of members) set.add(other);
      correlated.set(m, [...set]);
    }
  }
  const [positionPct, concentrationPct, marketPct, categoryPct, dailyLossPct, drawdownPct] = pcts as number[];
  return {
    version,
    positionPct: positionPct!,
    concentrationPct: concentrationPct!,
    marketPct: marketPct!,
    categoryPct: categoryPct!,
    dailyLossPct: dailyLossPct!,
    drawdownPct: drawdownPct!,
    maxOrderQuantity: limits.maxOrderQuantity,
    maxOrderNotional: notional,
    maxOrdersPerMinute: limits.maxOrdersPerMinute,
    maxMarkAgeMs: limits.maxMarkAgeSeconds * 1000,
    probeNotional: probe ?? Math.floor(notional / 10),
    collarPct,
    collarMin,
    correlated,
  };
}

/**
 * Limits in force in a breaker state: CAUTION and RECOVERY halve the exposure limits, order size, order
 * notional and submit rate (loss limits stay: they send the breaker to HALT).
 */
export function effectiveLimits(limits: ParsedLimits, state: BreakerState): ParsedLimits {
  if (state !== "CAUTION" && state !== "RECOVERY") return limits;
  const half = (n: number) => Math.floor(n / 2);
  return {
    ...limits,
    positionPct: half(limits.positionPct),
    concentrationPct: half(limits.concentrationPct),
    marketPct: half(limits.marketPct),
    categoryPct: half(limits.categoryPct),
    maxOrderQuantity: Math.max(1, half(limits.maxOrderQuantity)),
    maxOrderNotional: half(limits.maxOrderNotional),
    maxOrdersPerMinute: Math.max(1, half(limits.maxOrdersPerMinute)),
  };
}

/** Build the aggregates evaluation reads. */
export function buildView(state: PortfolioState, reservations: Iterable<Reservation>): RiskView {
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

function heapPush(heap: [number, string][], entry: [number, string]): void {
  let i = heap.push(entry) - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]![0] <= entry[0]) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = entry;
}

function heapPop(heap: [number, string][]): void {
  const last = heap.pop()!;
  if (heap.length === 0) return;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= heap.length) break;
    const c = l + 1 < heap.length && heap[l + 1]![0] < heap[l]![0] ? l + 1 : l;
    if (heap[c]![0] >= last[0]) break;
    heap[i] = heap[c]!;
    i = c;
  }
  heap[i] = last;
}

/** Note that held market `mk` is valued at a mark observed at `observedAtMs` (O(log held), amortised). */
function noteHeldMark(view: RiskView, mk: string, observedAtMs: number): void {
  const heap = view.index.heldHeap;
  // Superseded entries sink only when they surface: rebuild the heap once they outnumber the live ones.
  if (heap.length > 2 * view.heldMarkets.size + 64) {
    heap.length = 0;
    for (const held of view.heldMarkets.keys())
      if (held !== mk) heapPush(heap, [view.marks[held]!.observedAtMs, held]);
  }
  heapPush(heap, [observedAtMs, mk]);
}

/** Recompute `oldestHeldMarkMs` from the heap, dropping entries of markets no longer held or since re-marked. */
function settleOldest(view: RiskView): void {
  const heap = view.index.heldHeap;
  while (heap.length > 0) {
    const [t, mk] = heap[0]!;
    if (view.heldMarkets.has(mk) && view.marks[mk]?.observedAtMs === t) break;
    heapPop(heap);
  }
  view.oldestHeldMarkMs = heap.length > 0 ? heap[0]![0] : null;
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

/** Count a position of market `mk` moving from `before` to `after` contracts in `heldMarkets` and `oldestHeldMarkMs`. */
function trackHeld(view: RiskView, mk: string, observedAtMs: number, before: number, after: number): void {
  if ((before === 0) === (after === 0)) return;
  const held = (view.heldMarkets.get(mk) ?? 0) + (after === 0 ? -1 : 1);
  if (held > 0) view.heldMarkets.set(mk, held);
  else view.heldMarkets.delete(mk);
  if (held === 1 && after !== 0) noteHeldMark(view, mk, observedAtMs);
  settleOldest(view);
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

function reason(code: RiskReasonCode, message: string, observed?: string, limit?: string): RiskReason {
  const r: RiskReason = { code, message };
  if (observed !== undefined) r.observed = observed;
  if (limit !== undefined) r.limit = limit;
  return r;
}

function pctReason(
  code: RiskReasonCode,
  what: string,
  part: number,
  whole: number,
  limitPct: number,
  at: string,
): RiskReason {
  const observed = formatPct(ratioPct(part, whole) ?? 0n);
  const limit = formatPct(limitPct);
  return reason(code, `${code}: ${what}=${observed}% limit=${limit}% at ${at}`, `${observed}%`, `${limit}%`);
}

/**
 * A buy priced above `ref` plus the collar, or a sell below `ref` minus it, names both prices. The collar is the
 * larger of `collarPct` of the reference and `collarMin` (a price at exactly the edge passes).
 */
function collarReason(
  side: OrderIntent["side"],
  price: number,
  what: string,
  ref: number,
  limits: ParsedLimits,
): RiskReason | null {
  // The percentage band in whole 1e-4 $ (floored), as prices are.
  const band = Math.max(mulDiv(ref, limits.collarPct, FULL_PCT * 100, "floor") * 100, limits.collarMin);
  const edge = side === "buy" ? ref + band : ref - band;
  if (side === "buy" ? price <= edge : price >= edge) return null;
  const p = (units: number) => formatDollars(units, 4, "trunc");
  const how =
    side === "buy" ? `is above ${what} ${p(ref)} + ${p(band)}` : `is below ${what} ${p(ref)} − ${p(band)}`;
  return reason(
    R.priceCollarExceeded,
    `${R.priceCollarExceeded}: ${side} at ${p(price)} ${how} (${formatPct(limits.collarPct)}%, at least ${p(limits.collarMin)}) = ${p(edge)}`,
    p(price),
    p(edge),
  );
}

/** An order's size for a reason's message: its notional, and its worst-case loss when it opens risk. */
function sizeText(notional: number, worstLoss: number | null): string {
  return `notional=${money(notional)}${worstLoss === null ? "" : ` worst-case loss=${money(worstLoss)}`}`;
}

/** A loss limit the portfolio breaks on its own (drives the breaker to HALT). */
export function lossBreach(view: RiskView, limits: LossLimits): Evaluation["breach"] {
  const e = view.equity;
  if (e === null) return null;
  if (view.dayStartEquity !== null && view.dayStartEquity > 0 && e < view.dayStartEquity) {
    if (!withinPct(view.dayStartEquity - e, limits.dailyLossPct, view.dayStartEquity)) return "daily_loss";
  }
  if (view.highWaterMark !== null && view.highWaterMark > 0 && e < view.highWaterMark) {
    if (!withinPct(view.highWaterMark - e, limits.drawdownPct, view.highWaterMark)) return "drawdown";
  }
  return null;
}

function effectMatches(effect: OrderIntent["effect"], q: number, after: number): boolean {
  switch (effect) {
    case "open":
      return q === 0 && after !== 0;
    case "increase":
      return q !== 0 && Math.sign(after) === Math.sign(q) && Math.abs(after) > Math.abs(q);
    case "reduce":
      return q !== 0 && Math.sign(after) === Math.sign(q) && Math.abs(after) < Math.abs(q);
    case "close":
      return q !== 0 && after === 0;
  }
}

/** Evaluate one intent. Collects every reason that applies (not only the first). */
export function evaluateIntent(input: EvaluationInput): Evaluation {
  const { intent, view, breakerState, nowMs } = input;
  const limits = effectiveLimits(input.limits, breakerState);
  const reasons: RiskReason[] = [];
  const opensRisk = intent.effect === "open" || intent.effect === "increase";
  const posKey = positionKey(intent.strategyId, intent.venue, intent.market);
  const mk = marketKey(intent.venue, intent.market);
  // Hundredths of a contract (Kalshi trades 0.01 granularity); NaN when the intent's quantity is not one.
  const qty = orNull(() => parseQuantity(intent.quantity)) ?? Number.NaN;
  const delta = intent.side === "buy" ? qty : -qty;
  const out = (breach: Evaluation["breach"]): Evaluation => ({
    approved: reasons.length === 0,
    reasons,
    breach,
    posKey,
    delta,
    opensRisk,
  });

  if (!Number.isSafeInteger(qty) || qty <= 0 || !Number.isFinite(nowMs)) {
    reasons.push(
      reason(R.nonFiniteInput, `${R.nonFiniteInput}: quantity=${intent.quantity}`, String(intent.quantity)),
    );
    return out(null);
  }
  const lot = VENUE_LOT[intent.venue];
  if (qty % lot !== 0) {
    reasons.push(
      reason(
        R.quantityOffLot,
        `${R.quantityOffLot}: quantity=${intent.quantity} lot=${quantityNumber(lot)}`,
        String(intent.quantity),
        String(quantityNumber(lot)),
      ),
    );
  }
  if (breakerState === "HALT" && opensRisk) {
    reasons.push(
      reason(
        R.breakerHalted,
        `${R.breakerHalted}: the breaker is HALT; only reduce and close orders pass`,
        "HALT",
      ),
    );
  }

  // Pre-trade basics.
  const price = orNull(() => parseDollars(intent.limitPrice));
  const rules = VENUE_PRICE_RULES[intent.venue];
  if (price === null || price < rules.min || price > rules.max) {
    reasons.push(
      reason(
        R.priceOutOfRange,
        `${R.priceOutOfRange}: price=${intent.limitPrice} range=${money(rules.min)}..${money(rules.max)}`,
        intent.limitPrice,
        `${money(rules.min)}..${money(rules.max)}`,
      ),
    );
  } else if (price % rules.tick !== 0) {
    reasons.push(
      reason(
        R.priceOffTick,
        `${R.priceOffTick}: price=${intent.limitPrice} tick=${rules.tick / MICROS_PER_DOLLAR}`,
        intent.limitPrice,
        String(rules.tick / MICROS_PER_DOLLAR),
      ),
    );
  }
  if (qty > limits.maxOrderQuantity * 100) {
    reasons.push(
      reason(
        R.quantityLimitExceeded,
        `${R.quantityLimitExceeded}: quantity=${intent.quantity} limit=${limits.maxOrderQuantity}`,
        String(intent.quantity),
        String(limits.maxOrderQuantity),
      ),
    );
  }
  const notional = price === null ? null : notionalOf(qty, price);
  if (notional !== null && price !== null) {
    // An opening order is sized by the larger of its notional and what it can lose once filled at its limit: a
    // short YES loses 1 − price a contract (a sell-to-open of 2,500 @ 0.10 is $250 of notional and $2,250 at
    // risk). A reducing order risks nothing new: its notional counts, as before.
    const worstLoss = opensRisk ? exposureUnits(intent.venue, delta, price) : notional;
    const size = Math.max(notional, worstLoss);
    if (size > limits.maxOrderNotional) {
      reasons.push(
        reason(
          R.notionalLimitExceeded,
          `${R.notionalLimitExceeded}: ${sizeText(notional, opensRisk ? worstLoss : null)} limit=${money(limits.maxOrderNotional)}`,
          money(size),
          money(limits.maxOrderNotional),
        ),
      );
    }
    if (breakerState === "RECOVERY" && opensRisk && size > limits.probeNotional) {
      reasons.push(
        reason(
          R.recoveryProbeTooLarge,
          `${R.recoveryProbeTooLarge}: ${sizeText(notional, opensRisk ? worstLoss : null)} probe limit=${money(limits.probeNotional)}`,
          money(size),
          money(limits.probeNotional),
        ),
      );
    }
  }
  if (input.approvalsLastMinute + 1 > limits.maxOrdersPerMinute) {
    reasons.push(
      reason(
        R.rateLimitExceeded,
        `${R.rateLimitExceeded}: orders in the last minute=${input.approvalsLastMinute + 1} limit=${limits.maxOrdersPerMinute}`,
        String(input.approvalsLastMinute + 1),
        String(limits.maxOrdersPerMinute),
      ),
    );
  }
  if (input.clientOrderIdUsed) {
    reasons.push(
      reason(
        R.duplicateClientOrderId,
        `${R.duplicateClientOrderId}: ${intent.clientOrderId} was already approved`,
        intent.clientOrderId,
      ),
    );
  }

  // The mark: fail closed on every missing or doubtful part of an opening order's. A reduce or close needs no
  // mark: de-risking is always possible, bounded only by the position it reduces (the effect check below).
  const mark = opensRisk ? view.marks[mk] : undefined;
  let markPrice: number | null = null;
  let category: string | null = null;
  let markFresh = false;
  if (!opensRisk) {
    // No mark checks.
  } else if (!mark) {
    reasons.push(reason(R.unknownMarket, `${R.unknownMarket}: no market ${mk} is known to risk`, mk));
  } else {
    if (mark.price === null)
      reasons.push(reason(R.noMarkPrice, `${R.noMarkPrice}: ${mk} has no mark price`, mk));
    if (!Number.isFinite(mark.observedAtMs) || mark.observedAtMs > nowMs + MARK_FUTURE_SKEW_MS) {
      reasons.push(
        reason(
          R.markFromFuture,
          `${R.markFromFuture}: mark of ${mk} observed after now`,
          String(mark.observedAtMs),
        ),
      );
    } else if (nowMs - mark.observedAtMs <= limits.maxMarkAgeMs) {
      markFresh = true;
    } else {
      const age = Math.floor((nowMs - mark.observedAtMs) / 1000);
      reasons.push(
        reason(
          R.staleMark,
          `${R.staleMark}: mark age=${age}s limit=${limits.maxMarkAgeMs / 1000}s`,
          `${age}s`,
          `${limits.maxMarkAgeMs / 1000}s`,
        ),
      );
    }
    if (mark.category === null)
      reasons.push(reason(R.noCategory, `${R.noCategory}: ${mk} has no category`, mk));
    else category = mark.category;
    if (mark.price !== null) markPrice = mark.price;
  }

  // The price collar (SEC 15c3-5 erroneous orders): an opening order may not be priced through the fresh mark,
  // nor through the book's far side when the intent carries it or risk has it, by more than the collar.
  if (opensRisk && price !== null && markPrice !== null && markFresh) {
    const buy = intent.side === "buy";
    const byMark = collarReason(intent.side, price, "mark", markPrice, limits);
    if (byMark) reasons.push(byMark);
    const told = intent.farSidePrice === undefined ? null : orNull(() => parseDollars(intent.farSidePrice!));
    const byIntent =
      told === null
        ? null
        : collarReason(
            intent.side,
            price,
            buy ? "the intent's best ask" : "the intent's best bid",
            told,
            limits,
          );
    if (byIntent) reasons.push(byIntent);
    const book = buy ? mark?.bestAsk : mark?.bestBid;
    const byBook =
      book === undefined || book === null
        ? null
        : collarReason(intent.side, price, buy ? "best ask" : "best bid", book, limits);
    if (byBook) reasons.push(byBook);
  }

  // The effect must match the filled position, so a "reduce" cannot open risk while HALT lets it through. A
  // reducing order counts the reducing orders already approved as filled: two closes of one position cannot
  // both pass and flip it.
  const filled = view.filledQty.get(posKey) ?? 0;
  const q = opensRisk ? filled : filled + (view.pendingReduce.get(posKey) ?? 0);
  if (!effectMatches(intent.effect, q, q + delta)) {
    const pending =
      q === filled
        ? ""
        : ` (filled ${quantityNumber(filled)}, ${quantityNumber(q - filled)} pending in approved reducing orders)`;
    reasons.push(
      reason(
        R.effectMismatch,
        `${R.effectMismatch}: ${intent.effect} with position=${quantityNumber(q)} gives ${quantityNumber(q + delta)}${pending}`,
        `position=${quantityNumber(q)} after=${quantityNumber(q + delta)}`,
        intent.effect,
      ),
    );
  }
  // Opening the other side while an approved opening order still rests would let the two offset in the
  // exposure check, then only one of them fill.
  const pendingOpen = (view.effectiveQty.get(posKey) ?? 0) - filled;
  if (opensRisk && pendingOpen !== 0 && Math.sign(pendingOpen) !== Math.sign(delta)) {
    reasons.push(
      reason(
        R.opposingOrderPending,
        `${R.opposingOrderPending}: ${quantityNumber(pendingOpen)} contracts of ${posKey} are approved the other way and not yet filled or ended`,
        String(quantityNumber(pendingOpen)),
      ),
    );
  }

  const breach = lossBreach(view, input.limits);
  if (!opensRisk) return out(breach);

  // Exposure limits, on the post-trade portfolio with the worst fill (at the limit price).
  const e = view.equity;
  if (e === null || view.dayStartEquity === null || view.highWaterMark === null) {
    reasons.push(
      reason(
        R.noEquity,
        `${R.noEquity}: no equity figure${view.unmarked.length ? ` (unmarked: ${view.unmarked.slice(0, 3).join(", ")})` : ""}`,
      ),
    );
    return out(breach);
  }
  // A held position valued at a stale mark may hide a loss from the loss limits: equity is not known.
  if (view.oldestHeldMarkMs !== null && nowMs - view.oldestHeldMarkMs > limits.maxMarkAgeMs) {
    const stale = staleHeldPositions(view, nowMs, limits.maxMarkAgeMs);
    const oldest = `${Math.floor((nowMs - view.oldestHeldMarkMs) / 1000)}s`;
    const named = stale
      .slice(0, 3)
      .map(([key, age]) => `${key} (mark ${age}s old)`)
      .join(", ");
    reasons.push(
      reason(
        R.noEquity,
        `${R.noEquity}: ${stale.length} held position(s) valued at marks older than ${limits.maxMarkAgeMs / 1000}s: ${named}${stale.length > 3 ? ", …" : ""}`,
        oldest,
        `${limits.maxMarkAgeMs / 1000}s`,
      ),
    );
    return out(breach);
  }
  if (markPrice === null || price === null) return out(breach);
  const slippage = notionalOf(
    qty,
    intent.side === "buy" ? Math.max(0, price - markPrice) : Math.max(0, markPrice - price),
  );
  // The worst fill: at the limit price, in full. Exposure limits are measured against the equity it leaves;
  // the equity floor and the loss limits also count the fee it would pay (a certain loss, up to ~1.75 % of
  // the notional on Kalshi).
  const eAfter = e - view.reservedSlippage - slippage;
  const eWorst = eAfter - view.reservedFees - worstCaseFee(intent.venue, qty, price);
  if (eWorst <= 0) {
    reasons.push(
      reason(
        R.noEquity,
        `${R.noEquity}: equity after the worst fill and its fee is ${money(eWorst)}`,
        money(eWorst),
      ),
    );
    return out(breach);
  }
  const qe = view.effectiveQty.get(posKey) ?? 0;
  const posBefore = exposureUnits(intent.venue, qe, markPrice);
  const posAfter = exposureUnits(intent.venue, qe + delta, markPrice);
  const grow = posAfter - posBefore;
  const marketAfter = (view.marketExposure.get(mk) ?? 0) + grow;
  let groupAfter = grow;
  for (const k of limits.correlated.get(mk) ?? [mk]) groupAfter += view.marketExposure.get(k) ?? 0;
  const catAfter = (view.categoryExposure.get(category ?? UNCATEGORISED) ?? 0) + grow;
  const figures = [
    e,
    eAfter,
    eWorst,
    posAfter,
    marketAfter,
    groupAfter,
    catAfter,
    view.dayStartEquity,
    view.highWaterMark,
  ];
  if (!figures.every(Number.isSafeInteger)) {
    reasons.push(reason(R.nonFiniteInput, `${R.nonFiniteInput}: a portfolio figure is not a finite integer`));
    return out(breach);
  }
  if (!withinPct(posAfter, limits.positionPct, eAfter)) {
    reasons.push(
      pctReason(R.positionLimitExceeded, "position", posAfter, eAfter, limits.positionPct, posKey),
    );
  }
  if (!withinPct(marketAfter, limits.concentrationPct, eAfter)) {
    reasons.push(
      pctReason(
        R.concentrationLimitExceeded,
        "concentration",
        marketAfter,
        eAfter,
        limits.concentrationPct,
        mk,
      ),
    );
  }
  if (!withinPct(groupAfter, limits.marketPct, eAfter)) {
    reasons.push(
      pctReason(
        R.marketExposureLimitExceeded,
        "market exposure incl. correlated",
        groupAfter,
        eAfter,
        limits.marketPct,
        mk,
      ),
    );
  }
  if (!withinPct(catAfter, limits.categoryPct, eAfter)) {
    reasons.push(
      pctReason(
        R.categoryExposureLimitExceeded,
        "category exposure",
        catAfter,
        eAfter,
        limits.categoryPct,
        category ?? UNCATEGORISED,
      ),
    );
  }
  const dayStart = view.dayStartEquity;
  if (eWorst < dayStart && !withinPct(dayStart - eWorst, limits.dailyLossPct, dayStart)) {
    reasons.push(
      pctReason(
        R.dailyLossLimitExceeded,
        "daily loss",
        dayStart - eWorst,
        dayStart,
        limits.dailyLossPct,
        "portfolio",
      ),
    );
  }
  const hwm = view.highWaterMark;
  if (eWorst < hwm && !withinPct(hwm - eWorst, limits.drawdownPct, hwm)) {
    reasons.push(
      pctReason(R.drawdownLimitExceeded, "drawdown", hwm - eWorst, hwm, limits.drawdownPct, "portfolio"),
    );
  }
  return out(breach);
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
  view.marketExposure.set(mk, (view.marketExposure.get(mk) ?? 0) + grow);
  const cat = mark.category ?? UNCATEGORISED;
  view.categoryExposure.set(cat, (view.categoryExposure.get(cat) ?? 0) + grow);
  return true;
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
  view.marketExposure.set(mk, (view.marketExposure.get(mk) ?? 0) + grow);
  const cat = mark.category ?? UNCATEGORISED;
  view.categoryExposure.set(cat, (view.categoryExposure.get(cat) ?? 0) + grow);
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
  view.marketExposure.set(mk, exposure);
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
