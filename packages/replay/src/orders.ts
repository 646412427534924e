// A decision and its fill. On a book of a pair's leg the strategy's signal (@paulp/strategy) makes an intent that
// risk's own rules evaluate over the replay's portfolio (@paulp/risk-rules: same limits, same breaker table); an
// approved order fills with `paperFill` against the leg's book in force at decision + latency.
import type { BookLevel, OrderIntent } from "@paulp/contracts";
import {
  formatFixed,
  notional,
  orNull,
  parseDollars,
  parseFixed,
  parseQuantity,
  quantityNumber,
} from "@paulp/kit";
import {
  applyFillEverywhere,
  buildView,
  evaluateIntent,
  marketKey,
  type ParsedLimits,
  parseLimits,
  positionKey,
} from "@paulp/risk-rules";
import { crossVenueSignal, DECISION_BOOK_MAX_AGE_SECONDS, paperFill, rvParams } from "@paulp/strategy";
import { afterChange, toHalt } from "./portfolio";
import { iso, type ReplayPair, type ReplayState } from "./state";

/** On a book of one of the pair's legs: the signal, then risk's evaluation; an approval waits for its fill time. */
export function decide(st: ReplayState, pair: ReplayPair, atMs: number, limits: ParsedLimits): void {
  const kb = st.books[marketKey("kalshi", pair.kalshi.marketId)];
  const pb = st.books[marketKey("polymarket", pair.polymarket.marketId)];
  if (!kb || !pb) return;
  // The loop never decides on a book older than it asks for (it reads a fresh one, which would be a sighting).
  if (atMs - Math.min(kb.atMs, pb.atMs) >= DECISION_BOOK_MAX_AGE_SECONDS * 1000) return;
  st.decisions++;
  if (atMs - Math.min(kb.atMs, pb.atMs) > limits.maxMarkAgeMs) st.staleDecisions++;
  const { strategy } = st.config;
  const posKey = positionKey(strategy.id, "kalshi", pair.kalshi.marketId);
  const position = quantityNumber(st.portfolio.positions[posKey]?.qty ?? 0);
  const sig = crossVenueSignal({
    kalshi: kb,
    polymarket: pb,
    yesMapsTo: pair.yesMapsTo,
    allocation: strategy.allocation,
    position,
    params: rvParams(strategy.params),
  });
  if (!sig) return;
  // The loop derives its order's id from (strategy, pair, minute): a second signal in the minute is not traded.
  const minute = Math.floor(atMs / 60_000);
  if (st.orderedMinute[pair.pairId] === minute) return;
  st.orderSeq++;
  const intent: OrderIntent = {
    strategyId: strategy.id,
    venue: "kalshi",
    market: pair.kalshi.marketId,
    side: sig.side,
    effect: sig.effect,
    quantity: sig.quantity,
    limitPrice: sig.limitPrice,
    clientOrderId: `replay-${String(st.orderSeq).padStart(8, "0")}`,
    evidenceHashes: [kb.hash, pb.hash],
    // The signal trades at the best level on the other side: that is the far side risk collars around.
    farSidePrice: sig.limitPrice,
  };
  st.approvals = st.approvals.filter((t) => t > atMs - 60_000);
  const ev = evaluateIntent({
    intent,
    view: buildView(st.portfolio, Object.values(st.reservations), limits.correlation),
    limits,
    breakerState: st.breaker,
    nowMs: atMs,
    approvalsLastMinute: st.approvals.length,
    clientOrderIdUsed: false,
  });
  if (ev.breach) toHalt(st);
  if (!ev.approved) {
    for (const r of ev.reasons) st.denials.push(r.code);
    return;
  }
  st.approvals.push(atMs);
  st.orderedMinute[pair.pairId] = minute;
  // Reserved until it fills, as risk reserves an approval (an opening one at its limit price).
  const reduces = !ev.opensRisk;
  st.reservations[intent.clientOrderId] = {
    posKey: ev.posKey,
    venue: intent.venue,
    market: intent.market,
    qty: ev.delta,
    clientOrderId: intent.clientOrderId,
    expiresAtMs: atMs + st.config.latencyMs,
    ...(reduces
      ? { reduces: true }
      : { priceUnits: orNull(() => parseDollars(intent.limitPrice)) ?? undefined }),
  };
  st.pending.push({ intent, decidedAtMs: atMs, fillAtMs: atMs + st.config.latencyMs });
}

/**
 * Fill every order due before `beforeMs` against its leg's book in force at its fill time (the latest recorded at
 * or before it: nothing later has been replayed yet), immediate-or-cancel, never beyond the depth shown.
 */
export function settleDue(st: ReplayState, beforeMs: number): void {
  if (st.pending.length === 0) return;
  const limits = parseLimits(st.config.risk.limits, st.config.risk.limitsVersion)!;
  const due = st.pending.filter((p) => p.fillAtMs < beforeMs);
  st.pending = st.pending.filter((p) => p.fillAtMs >= beforeMs);
  for (const p of due) {
    const { intent } = p;
    const book = st.books[marketKey(intent.venue, intent.market)]!;
    const fill = paperFill(book, intent.side, intent.quantity, intent.limitPrice, intent.venue === "kalshi");
    st.trades.push({
      decidedAt: iso(p.decidedAtMs),
      filledAt: iso(p.fillAtMs),
      venue: intent.venue,
      marketId: intent.market,
      side: intent.side,
      quantity: intent.quantity,
      limitPrice: intent.limitPrice,
      filled: fill.filled,
      avgPrice: fill.avgPrice,
      fee: fill.fee,
      bookEvidenceHash: book.hash,
    });
    if (fill.filled > 0 && fill.avgPrice !== null) {
      applyFillEverywhere(
        st.portfolio,
        st.reservations,
        null,
        {
          fillId: intent.clientOrderId,
          strategyId: intent.strategyId,
          venue: intent.venue,
          market: intent.market,
          side: intent.side,
          quantity: fill.filled,
          price: fill.avgPrice,
          fee: fill.fee,
          clientOrderId: intent.clientOrderId,
          ts: iso(p.fillAtMs),
        },
        p.fillAtMs,
      );
      // The depth this fill took is gone from the recorded book until the venue's next answer replaces it.
      const side = intent.side === "buy" ? "asks" : "bids";
      book[side] = takeDepth(book[side], parseQuantity(fill.filled));
      st.turnover += notional(parseQuantity(fill.filled), parseDollars(fill.avgPrice));
      st.fees += parseDollars(fill.fee);
    }
    // Immediate-or-cancel: what did not fill is cancelled, its reservation released.
    delete st.reservations[intent.clientOrderId];
    afterChange(st, Math.min(p.fillAtMs, beforeMs), limits);
  }
}

/** A side of a book (best first) without the first `hundredths` contracts taken from it. */
function takeDepth(levels: BookLevel[], hundredths: number): BookLevel[] {
  let left = hundredths;
  const out: BookLevel[] = [];
  for (const l of levels) {
    // Cut as the fill model cuts a level: hundredths, never rounded up.
    const size =
      orNull(() => parseFixed(l.size, 2, { rounding: "trunc", maxDecimals: 18, signed: false })) ?? 0;
    const take = Math.min(size, left);
    left -= take;
    if (size - take > 0) out.push({ price: l.price, size: formatFixed(size - take, 2) });
  }
  return out;
}
