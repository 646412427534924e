// Over 400 lines on purpose: evaluateIntent is one ordered list of checks, read top to bottom as the spec lists them.
import {
  type BreakerState,
  MARK_FUTURE_SKEW_MS,
  type OrderIntent,
  RiskReasonCode as R,
  type RiskReason,
} from "@paulp/contracts";
import {
  HUNDREDTHS_PER_CONTRACT,
  MICROS_PER_DOLLAR,
  notional as notionalOf,
  orNull,
  parseDollars,
  parseQuantity,
  quantityNumber,
  withinPct,
  worstCaseFee,
} from "@paulp/kit";
import {
  effectiveLimits,
  type LossLimits,
  type ParsedLimits,
  VENUE_LOT,
  VENUE_PRICE_RULES,
} from "./limit-rules";
import { exposureUnits, marketKey, positionKey } from "./portfolio";
import { collarReason, money, pctReason, reason, sizeText } from "./reasons";
import { type RiskView, staleHeldPositions, UNCATEGORISED } from "./view";
import { correlatedExposure } from "./view-groups";

// The pure pre-trade check: values in, a decision out. No clock, no I/O: the caller passes `nowMs`, the
// portfolio view, the limits and the breaker state. Every missing or doubtful input denies.

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

export { MARK_FUTURE_SKEW_MS };

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
  if (qty > limits.maxOrderQuantity * HUNDREDTHS_PER_CONTRACT) {
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
  const groupAfter = grow + correlatedExposure(view, limits.correlation, mk);
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
