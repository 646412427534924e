// The replay engine (#18): a strategy run over verified evidence with the mesh's own code. Each sighting is decoded
// as ingestion decodes it (@paulp/venue-decode: market pages → marks, books → books), a book of a pair's leg runs
// the strategy's signal (@paulp/strategy), the intent is evaluated by risk's own rules over the replay's own
// portfolio (@paulp/risk-rules: same limits, same breaker table), and an approved order fills with `paperFill`
// against the leg's book in force at decision + latency. Pure: no clock (time is the sightings' fetch time), no
// network, no storage; the state is plain JSON, so a Durable Object can persist it between bounded steps.
import type {
  BookLevel,
  BreakerState,
  ExposurePoint,
  JsonValue,
  MarkUpdate,
  OrderIntent,
  ReplayLegCategory,
  ReplayRefusal,
  ReplayReport,
  ReplayTrade,
  RiskLimits,
} from "@paulp/contracts";
import {
  formatDollars,
  formatFixed,
  notional,
  orNull,
  parseDollars,
  parseFixed,
  parseQuantity,
} from "@paulp/kit";
import {
  applyFillEverywhere,
  applyMarksEverywhere,
  buildView,
  emptyPortfolio,
  evaluateIntent,
  exposureUnits,
  lossBreach,
  marketKey,
  type ParsedLimits,
  type PortfolioState,
  parseLimits,
  positionKey,
  type Reservation,
  TRANSITIONS,
  UNCATEGORISED,
  updateWatermarks,
  valuation,
} from "@paulp/risk-rules";
import { crossVenueSignal, DECISION_BOOK_MAX_AGE_SECONDS, paperFill, rvParams } from "@paulp/strategy";
import {
  decodeBook,
  GammaKeysetPage,
  gammaPage,
  isKalshiMarketsPage,
  type KalshiEventInfo,
  KalshiEventsPage,
  KalshiMarketsPage,
  KalshiSeriesList,
  KalshiSeriesOne,
  kalshiRows,
  type MarketRow,
  markFrom,
  parseBody,
  parseKalshiMarkets,
} from "@paulp/venue-decode";
import { consumedHashes, type EvidenceSet, type VerifiedSighting, verifiedTimeline } from "./evidence";
import { fraction, maxDrawdown, sampleCurve, tally } from "./metrics";

/** A change to what the engine computes must change this (it is in every report's manifest). */
// .2: a Kalshi leg's category as ingestion held it at the start (NO_CATEGORY no longer denies every order of a
// window that re-fetched no event or series); at most one order per strategy, pair and minute, and decisions only
// on books no older than the loop reads (DECISION_BOOK_MAX_AGE_SECONDS), as the loop.
// .3: the summary names when the first and the last sighting replayed were fetched (the citation's span).
// .4: the summary names the largest gap between consecutive sightings replayed (the citation's coverage).
export const ENGINE_VERSION = "replay-engine.4";

/** The order of a Polymarket leg's YES token, as the pair review recorded it. */
export interface ReplayPair {
  pairId: string;
  /** `category`: the leg's category as ingestion held it when the replay started (absent: none known). */
  kalshi: { marketId: string; category?: ReplayLegCategory };
  polymarket: { marketId: string; yesToken: string };
  yesMapsTo: "YES" | "NO";
}

/** What a replay runs: the strategy, its pairs, risk's limits and the fill latency. All of it is in the manifest. */
export interface ReplayConfig {
  strategy: { id: string; kind: string; params: Record<string, JsonValue>; allocation: string };
  pairs: ReplayPair[];
  window: { from: string; to: string };
  risk: { limits: RiskLimits; limitsVersion: number };
  /** Equity the replay's portfolio starts with, in dollars. */
  startingEquity: string;
  latencyMs: number;
  /** The build that ran it (the deploy's commit), or "offline". */
  codeVersion: string;
  /** One equity/exposure point kept per this interval in the report (default one minute). */
  curveIntervalMs?: number;
}

/** A recorded book of a leg: the YES view, the evidence it came from and when it was fetched. */
interface HeldBook {
  bids: BookLevel[];
  asks: BookLevel[];
  hash: string;
  atMs: number;
}

/** An approved order waiting for its fill time. */
interface PendingOrder {
  intent: OrderIntent;
  decidedAtMs: number;
  fillAtMs: number;
}

/** The engine's whole state, plain JSON (no Map, no class, no bytes): persisted as it is between steps. */
export interface ReplayState {
  config: ReplayConfig;
  /** Sightings consumed so far (the next one is `timeline[cursor]`). */
  cursor: number;
  consumed: string[];
  portfolio: PortfolioState;
  reservations: Record<string, Reservation>;
  breaker: BreakerState;
  approvals: number[];
  books: Record<string, HeldBook>;
  /** What ingestion knows of Kalshi events and series, and each market's category (from its pages). */
  kalshiEvents: Record<string, { seriesTicker: string; title: string }>;
  kalshiSeries: Record<string, string>;
  categories: Record<string, string | null>;
  pending: PendingOrder[];
  /** When the first and the last sighting replayed were fetched (epoch ms; null before the first). */
  evidenceFromMs: number | null;
  evidenceToMs: number | null;
  /**
   * The longest time between two consecutive sightings replayed (ms; 0 before the second). Null when not known: a
   * state saved by an engine before .4 with sightings already replayed (their gaps were not kept).
   */
  largestGapMs: number | null;
  /** The minute (ms / 60,000) of each pair's last approved order: the loop places one per pair a minute. */
  orderedMinute: Record<string, number>;
  orderSeq: number;
  decisions: number;
  staleDecisions: number;
  denials: string[];
  /** Sightings not read (not 2xx, IBKR, or not a page or book the engine reads) and those that failed to decode. */
  skipped: number;
  undecodable: number;
  trades: ReplayTrade[];
  turnover: number;
  fees: number;
  curve: { atMs: number; equity: number; byCategory: Record<string, number> }[];
}

/** A fresh replay. */
export function startReplay(config: ReplayConfig): ReplayState {
  return {
    config,
    cursor: 0,
    consumed: [],
    portfolio: emptyPortfolio(parseDollars(config.startingEquity)),
    reservations: {},
    breaker: "NORMAL",
    approvals: [],
    books: {},
    kalshiEvents: {},
    kalshiSeries: {},
    categories: {},
    pending: [],
    orderedMinute: {},
    evidenceFromMs: null,
    evidenceToMs: null,
    largestGapMs: 0,
    orderSeq: 0,
    decisions: 0,
    staleDecisions: 0,
    denials: [],
    skipped: 0,
    undecodable: 0,
    trades: [],
    turnover: 0,
    fees: 0,
    curve: [],
  };
}

/**
 * Replay at most `maxSightings` more sightings of `timeline` (the `verifiedTimeline` of the run's evidence, the
 * same each step) and return the new state. The state passed in is not changed.
 */
export function step(
  state: ReplayState,
  timeline: readonly VerifiedSighting[],
  maxSightings: number,
): ReplayState {
  const st: ReplayState = structuredClone(state);
  // A run started before engine version 2 (a deploy mid-replay) has no per-minute record yet.
  st.orderedMinute ??= {};
  // Nor (before .4) the gaps of the sightings it replayed: unknown, unless it had replayed none.
  if (st.largestGapMs === undefined) st.largestGapMs = st.evidenceToMs == null ? 0 : null;
  const limits = parseLimits(st.config.risk.limits, st.config.risk.limitsVersion);
  if (!limits) throw new Error("the replay's risk limits do not parse");
  const end = Math.min(timeline.length, st.cursor + Math.max(0, Math.floor(maxSightings)));
  for (; st.cursor < end; st.cursor++) {
    const s = timeline[st.cursor]!;
    // Orders due before this sighting fill against the books in force until now.
    settleDue(st, s.atMs);
    st.consumed.push(s.hash);
    // (`??`: a state saved by an engine before .3 has neither; it counts from the sightings it replays now.)
    st.evidenceFromMs ??= s.atMs;
    if (st.evidenceToMs != null && st.largestGapMs !== null)
      st.largestGapMs = Math.max(st.largestGapMs, s.atMs - st.evidenceToMs);
    st.evidenceToMs = s.atMs;
    const outcome = consume(st, s, limits);
    if (outcome === "skipped") st.skipped++;
    else if (outcome === "undecodable") st.undecodable++;
  }
  return st;
}

/** True when every sighting of `timeline` has been replayed. */
export function isDone(state: ReplayState, timeline: readonly VerifiedSighting[]): boolean {
  return state.cursor >= timeline.length;
}

/** The report of a finished replay (orders still waiting fill against the last books recorded). */
export function finish(state: ReplayState): ReplayReport {
  const st: ReplayState = structuredClone(state);
  settleDue(st, Number.POSITIVE_INFINITY);
  const c = st.config;
  const start = parseDollars(c.startingEquity);
  const ending = st.curve.at(-1)?.equity ?? start;
  const dd = maxDrawdown([start, ...st.curve.map((p) => p.equity)]);
  const sampled = sampleCurve(st.curve, c.curveIntervalMs ?? 60_000);
  const exposure: ExposurePoint[] = sampled.map((p) => ({
    at: iso(p.atMs),
    byCategory: Object.fromEntries(Object.entries(p.byCategory).map(([k, v]) => [k, formatDollars(v, 4)])),
  }));
  return {
    manifest: {
      strategy: {
        id: c.strategy.id,
        kind: c.strategy.kind,
        params: c.strategy.params,
        allocation: c.strategy.allocation,
      },
      pairs: c.pairs,
      startingEquity: c.startingEquity,
      window: c.window,
      // The limits as the JSON they are hashed as (an absent optional limit is no key).
      risk: {
        limits: JSON.parse(JSON.stringify(c.risk.limits)) as JsonValue,
        limitsVersion: c.risk.limitsVersion,
      },
      fill: { latencyMs: c.latencyMs },
      engineVersion: ENGINE_VERSION,
      codeVersion: c.codeVersion,
      evidence: consumedHashes(st.consumed.map((hash) => ({ hash }))),
      sightings: st.consumed.length,
    },
    summary: {
      decisions: st.decisions,
      orders: st.trades.length,
      fills: st.trades.filter((t) => t.filled > 0).length,
      startingEquity: formatDollars(start, 4),
      endingEquity: formatDollars(ending, 4),
      pnl: formatDollars(ending - start, 4),
      fees: formatDollars(st.fees, 4),
      maxDrawdown: formatDollars(dd.amount, 4),
      maxDrawdownFraction: formatFixed(dd.fractionUnits, 4),
      turnover: formatDollars(st.turnover, 4),
      denialsByCode: tally(st.denials),
      staleDecisionShare: fraction(st.staleDecisions, st.decisions),
      evidenceFrom: st.evidenceFromMs == null ? null : iso(st.evidenceFromMs),
      evidenceTo: st.evidenceToMs == null ? null : iso(st.evidenceToMs),
      // Whole seconds, rounded up (a gap is never understated); null without evidence or when not known.
      largestEvidenceGapSeconds:
        st.evidenceToMs == null || st.largestGapMs == null ? null : Math.ceil(st.largestGapMs / 1000),
    },
    trades: st.trades,
    equityCurve: sampled.map((p) => ({ at: iso(p.atMs), equity: formatDollars(p.equity, 4) })),
    exposure,
  };
}

/**
 * A whole replay in one call (offline, or a test): every object re-hashed first (`verifiedTimeline`: one changed
 * byte refuses the set, naming the object), then the window's sightings in steps of `stepSize`, then the report.
 */
export async function runReplay(
  set: EvidenceSet,
  config: ReplayConfig,
  stepSize = 1_000,
): Promise<{ ok: true; report: ReplayReport } | { ok: false; refusal: ReplayRefusal }> {
  const timeline = await verifiedTimeline(set, {
    fromMs: Date.parse(config.window.from),
    toMs: Date.parse(config.window.to),
  });
  if (!timeline.ok) return timeline;
  let state = startReplay(config);
  while (!isDone(state, timeline.sightings)) state = step(state, timeline.sightings, stepSize);
  return { ok: true, report: finish(state) };
}

// ---- one sighting ------------------------------------------------------------------------------------------------

/** What a sighting's URL says it is (the URLs ingestion fetches, docs/venues.md). */
type Read =
  | { kind: "kalshi_markets" | "kalshi_events" | "kalshi_series" | "gamma_markets" }
  | { kind: "kalshi_book"; ticker: string }
  | { kind: "clob_book"; tokenId: string }
  | { kind: "other" };

function classify(s: VerifiedSighting): Read {
  let u: URL;
  try {
    u = new URL(s.url);
  } catch {
    return { kind: "other" };
  }
  if (s.venue === "kalshi") {
    const book = /\/markets\/([^/]+)\/orderbook$/.exec(u.pathname);
    if (book) return { kind: "kalshi_book", ticker: decodeURIComponent(book[1]!) };
    if (u.pathname.endsWith("/markets")) return { kind: "kalshi_markets" };
    if (u.pathname.endsWith("/events")) return { kind: "kalshi_events" };
    if (/\/series(\/[^/]+)?$/.test(u.pathname)) return { kind: "kalshi_series" };
  }
  if (s.venue === "polymarket") {
    if (u.pathname === "/book" && u.searchParams.get("token_id"))
      return { kind: "clob_book", tokenId: u.searchParams.get("token_id")! };
    if (u.pathname === "/markets/keyset") return { kind: "gamma_markets" };
  }
  return { kind: "other" };
}

/** What became of one sighting: read, not one the engine reads (or not 2xx), or not decodable. */
type Outcome = "read" | "skipped" | "undecodable";

function consume(st: ReplayState, s: VerifiedSighting, limits: ParsedLimits): Outcome {
  // A refusal's bytes are evidence too, but ingestion reads only a 2xx answer.
  if (s.status !== undefined && (s.status < 200 || s.status > 299)) return "skipped";
  const read = classify(s);
  switch (read.kind) {
    case "kalshi_events": {
      const p = parseBody(KalshiEventsPage, s.bytes);
      if (!p.ok) return "undecodable";
      for (const e of p.value.events)
        st.kalshiEvents[e.event_ticker] = { seriesTicker: e.series_ticker, title: e.title };
      return "read";
    }
    case "kalshi_series": {
      const list = parseBody(KalshiSeriesList, s.bytes);
      const one = list.ok ? null : parseBody(KalshiSeriesOne, s.bytes);
      const series = list.ok ? list.value.series : one?.ok ? [one.value.series] : null;
      if (!series) return "undecodable";
      for (const x of series) st.kalshiSeries[x.ticker] = x.category;
      return "read";
    }
    case "kalshi_markets": {
      const p = parseBody(KalshiMarketsPage, s.bytes, isKalshiMarketsPage);
      if (!p.ok) return "undecodable";
      const { markets } = parseKalshiMarkets(p.value);
      return applyRows(st, s, kalshiRows(markets, eventInfo(st)).rows, limits);
    }
    case "gamma_markets": {
      const p = parseBody(GammaKeysetPage, s.bytes);
      if (!p.ok) return "undecodable";
      return applyRows(st, s, gammaPage(p.value).rows, limits);
    }
    case "kalshi_book": {
      const pairs = st.config.pairs.filter((p) => p.kalshi.marketId === read.ticker);
      if (pairs.length === 0) return "skipped";
      return applyBook(st, s, "kalshi", read.ticker, undefined, pairs, limits);
    }
    case "clob_book": {
      const pairs = st.config.pairs.filter((p) => p.polymarket.yesToken === read.tokenId);
      if (pairs.length === 0) return "skipped";
      return applyBook(st, s, "polymarket", pairs[0]!.polymarket.marketId, read.tokenId, pairs, limits);
    }
    default:
      return "skipped";
  }
}

/** Ingestion's view of a Kalshi market's event and series (`kalshiRows` reads it). */
function eventInfo(st: ReplayState): Pick<ReadonlyMap<string, KalshiEventInfo>, "get"> {
  return {
    get: (eventTicker: string) => {
      const e = st.kalshiEvents[eventTicker];
      if (!e) return undefined;
      return {
        seriesTicker: e.seriesTicker,
        title: e.title,
        category: st.kalshiSeries[e.seriesTicker] || null,
      };
    },
  };
}

/** A page's rows as the marks ingestion pushes to risk (`markFrom`: mid of bid and ask, else the last price). */
function applyRows(st: ReplayState, s: VerifiedSighting, rows: MarketRow[], limits: ParsedLimits): Outcome {
  const marks: MarkUpdate[] = [];
  for (const r of rows) {
    const category = r.category ?? startCategory(st, r.venue, r.marketId, s.atMs);
    st.categories[marketKey(r.venue, r.marketId)] = category;
    const price = markFrom(r.yesBid, r.yesAsk, r.lastPrice);
    if (price === null) continue;
    marks.push({
      venue: r.venue,
      market: r.marketId,
      price,
      category,
      evidenceHash: s.hash,
      observedAt: s.fetchedAt,
      bestBid: r.yesBid,
      bestAsk: r.yesAsk,
    });
  }
  return applyMarks(st, marks, s.atMs, limits);
}

function applyBook(
  st: ReplayState,
  s: VerifiedSighting,
  venue: "kalshi" | "polymarket",
  marketId: string,
  yesToken: string | undefined,
  pairs: ReplayPair[],
  limits: ParsedLimits,
): Outcome {
  const decoded = decodeBook({ venue, marketId }, yesToken, s.bytes);
  if (!decoded.ok) return "undecodable";
  const key = marketKey(venue, marketId);
  st.books[key] = { bids: decoded.book.bids, asks: decoded.book.asks, hash: s.hash, atMs: s.atMs };
  // The fast path's mark: the book's mid, with its best bid and ask for risk's collar.
  const bid = decoded.book.bids[0]?.price ?? null;
  const ask = decoded.book.asks[0]?.price ?? null;
  const price = markFrom(bid, ask, null);
  if (price !== null)
    applyMarks(
      st,
      [
        {
          venue,
          market: marketId,
          price,
          category: st.categories[key] ?? startCategory(st, venue, marketId, s.atMs),
          evidenceHash: s.hash,
          observedAt: s.fetchedAt,
          bestBid: bid,
          bestAsk: ask,
        },
      ],
      s.atMs,
      limits,
    );
  for (const pair of pairs) decide(st, pair, s.atMs, limits);
  return "read";
}

/**
 * A Kalshi leg's category as ingestion held it when the replay started (the config's), once ingestion had it:
 * what risk holds for a market from before the window. Null for any other market, or before `since`.
 */
function startCategory(st: ReplayState, venue: string, marketId: string, atMs: number): string | null {
  if (venue !== "kalshi") return null;
  for (const p of st.config.pairs) {
    const c = p.kalshi.category;
    if (p.kalshi.marketId === marketId && c && Date.parse(c.since) <= atMs) return c.name;
  }
  return null;
}

function applyMarks(st: ReplayState, marks: MarkUpdate[], atMs: number, limits: ParsedLimits): Outcome {
  if (marks.length === 0) return "read";
  const r = applyMarksEverywhere(st.portfolio, st.reservations, null, marks);
  // Risk refuses a batch with a malformed mark whole; so does the replay.
  if (r.error) return "undecodable";
  afterChange(st, atMs, limits);
  return "read";
}

/** Watermarks, the loss limits (a breach halts, as risk's breaker does) and a point of the curve. */
function afterChange(st: ReplayState, atMs: number, limits: ParsedLimits): void {
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

function toHalt(st: ReplayState): void {
  if (TRANSITIONS[st.breaker].HALT === "any") st.breaker = "HALT";
}

// ---- a decision --------------------------------------------------------------------------------------------------

/** On a book of one of the pair's legs: the signal, then risk's evaluation; an approval waits for its fill time. */
function decide(st: ReplayState, pair: ReplayPair, atMs: number, limits: ParsedLimits): void {
  const kb = st.books[marketKey("kalshi", pair.kalshi.marketId)];
  const pb = st.books[marketKey("polymarket", pair.polymarket.marketId)];
  if (!kb || !pb) return;
  // The loop never decides on a book older than it asks for (it reads a fresh one, which would be a sighting).
  if (atMs - Math.min(kb.atMs, pb.atMs) >= DECISION_BOOK_MAX_AGE_SECONDS * 1000) return;
  st.decisions++;
  if (atMs - Math.min(kb.atMs, pb.atMs) > limits.maxMarkAgeMs) st.staleDecisions++;
  const { strategy } = st.config;
  const posKey = positionKey(strategy.id, "kalshi", pair.kalshi.marketId);
  const position = (st.portfolio.positions[posKey]?.qty ?? 0) / 100;
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
function settleDue(st: ReplayState, beforeMs: number): void {
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

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
