// Polymarket's half of the seeded universe: gamma markets (with the wire quirks Polymarket's bindings allow),
// generated once per seed and shape, and their CLOB books.
import type { ClobBookWire, GammaMarketWire } from "@paulp/venue-models";
import { kalshiFairBp } from "./kalshi-universe";
import {
  BASE_YEAR,
  bpToDollars,
  closeDate,
  closesAt,
  digits,
  fairNow,
  fmtThreshold,
  hash32,
  hex,
  indicatorTerms,
  LOOKALIKE_PAIRS,
  levels,
  MONTH_NAMES,
  POLYMARKET_SHAPES,
  type PolymarketMarketSeed,
  type PolymarketShape,
  type PolymarketWireQuirks,
  pairSpec,
  pick,
  rng,
  roundToCent,
  TEAMS,
  TRUE_PAIRS,
} from "./seeds";

/** Deterministic quirks by index, never on a planted pair. */
export function polyQuirks(j: number): PolymarketWireQuirks {
  const prices =
    j % 71 === 9 ? "null" : j % 73 === 4 ? "absent" : (["number", "string", "mixed"] as const)[j % 3]!;
  if (j < TRUE_PAIRS + LOOKALIKE_PAIRS) return { prices: "number" };
  const question = j % 97 === 11 ? "null" : j % 97 === 23 ? "empty" : j % 97 === 37 ? "absent" : undefined;
  const conditionId = j % 89 === 5 ? "empty" : j % 89 === 17 ? "null" : undefined;
  const outcomes = j % 83 === 7 ? "null" : j % 83 === 19 ? "empty" : j % 79 === 3 ? "up_down" : undefined;
  return {
    prices,
    ...(question ? { question } : {}),
    ...(conditionId ? { conditionId } : {}),
    ...(outcomes ? { outcomes } : {}),
  };
}

export function polySeedAt(seed: number, j: number, shape: PolymarketShape): PolymarketMarketSeed {
  const r = rng(hash32(`poly:${seed}:${j}`));
  const conditionId = `0x${hex(r, 64)}`;
  const tokens: [string, string] = [digits(r, 77), digits(r, 77)];
  const fairBpRandom = 300 + Math.floor(r() * 9400);
  const start = new Date(Date.UTC(2026, 0, 1 + (j % 300))).toISOString();
  if (j < TRUE_PAIRS + LOOKALIKE_PAIRS) {
    const p = pairSpec(seed, j);
    const k = { fairBp: kalshiFairBp(seed, j) };
    let close = closeDate(p.month, 15);
    let threshold = fmtThreshold(p.ind, p.k);
    let question = `${p.ind.name[0]!.toUpperCase()}${p.ind.name.slice(1)} above ${threshold} in ${MONTH_NAMES[p.month]} ${BASE_YEAR}?`;
    let fairBp = k.fairBp + Math.floor(r() * 200) - 100;
    if (p.kind === "different_close") close = closeDate((p.month + 1) % 12, 28);
    if (p.kind === "different_threshold") {
      threshold = fmtThreshold(p.ind, p.k + 1);
      question = `${p.ind.name[0]!.toUpperCase()}${p.ind.name.slice(1)} above ${threshold} in ${MONTH_NAMES[p.month]} ${BASE_YEAR}?`;
    }
    let description = indicatorTerms(p.ind, threshold, MONTH_NAMES[p.month]!, close);
    if (p.kind === "inverted") {
      question = `${p.ind.name[0]!.toUpperCase()}${p.ind.name.slice(1)} at or below ${threshold} in ${MONTH_NAMES[p.month]} ${BASE_YEAR}?`;
      description = `If ${p.ind.name} for ${MONTH_NAMES[p.month]} ${BASE_YEAR}, as first published by the ${p.ind.source}, is at or below ${threshold}, the market resolves to Yes. Otherwise it resolves to No. Close: ${close.toISOString()}.`;
      fairBp = 10_000 - k.fairBp;
    }
    return {
      id: String(500_000 + j),
      question,
      conditionId,
      slug: question
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-|-$/g, ""),
      description,
      resolutionSource: `https://www.${p.ind.source.toLowerCase().replace(/[^a-z]+/g, "")}.gov`,
      startDate: start,
      endDate: close.toISOString(),
      category: p.ind.category,
      active: true,
      closed: false,
      outcomes: ["Yes", "No"],
      clobTokenIds: tokens,
      fairBp: Math.min(9_700, Math.max(300, fairBp)),
      quirks: polyQuirks(j),
    };
  }
  const a = pick(r, TEAMS);
  let b = pick(r, TEAMS);
  if (b === a) b = TEAMS[(TEAMS.indexOf(a) + 1) % TEAMS.length]!;
  const month = Math.floor(r() * 12);
  const close = closeDate(month, 1 + Math.floor(r() * 28));
  const question = `${a} vs. ${b}: will the ${a} win match ${j}?`;
  return {
    id: String(500_000 + j),
    question,
    conditionId,
    slug: `${a}-${b}-match-${j}`.toLowerCase(),
    description: `This market resolves to Yes if the ${a} win match ${j} against the ${b}, per the league's official result.`,
    resolutionSource: "https://league.example/results",
    startDate: start,
    endDate: close.toISOString(),
    category: j % 10 === 7 ? "Politics" : "Sports",
    active: true,
    closed: j % shape.closedEvery === shape.closedEvery - 1,
    outcomes: ["Yes", "No"],
    clobTokenIds: tokens,
    fairBp: fairBpRandom,
    quirks: polyQuirks(j),
  };
}

/** Gamma's markets of one shape, with the lookups the CLOB and the trading simulators need. */
export interface PolymarketUniverse {
  shape: PolymarketShape;
  poly: PolymarketMarketSeed[];
  /** Tokens of the markets that list them (not those whose outcomes are null or empty). */
  polyByToken: Map<string, { index: number; outcome: 0 | 1 }>;
  /** Condition ids of the markets that show one. */
  polyByCondition: Map<string, number>;
}

export const polymarketUniverses = new Map<string, PolymarketUniverse>();

/** The Polymarket half for a seed and shape, generated once per isolate. */
export function polymarketUniverse(
  seed: number,
  shape: PolymarketShape = POLYMARKET_SHAPES.small,
): PolymarketUniverse {
  const key = `${seed}:${shape.markets}:${shape.closedEvery}:${shape.priceStepMs}`;
  const cached = polymarketUniverses.get(key);
  if (cached) return cached;
  const poly = Array.from({ length: shape.markets }, (_, j) => polySeedAt(seed, j, shape));
  const listsTokens = (m: PolymarketMarketSeed) =>
    m.quirks.outcomes !== "null" && m.quirks.outcomes !== "empty";
  const u: PolymarketUniverse = {
    shape,
    poly,
    polyByToken: new Map<string, { index: number; outcome: 0 | 1 }>(
      poly.flatMap((m, index): [string, { index: number; outcome: 0 | 1 }][] =>
        listsTokens(m)
          ? [
              [m.clobTokenIds[0], { index, outcome: 0 as const }],
              [m.clobTokenIds[1], { index, outcome: 1 as const }],
            ]
          : [],
      ),
    ),
    polyByCondition: new Map(
      poly.flatMap((m, j): [string, number][] => (m.quirks.conditionId ? [] : [[m.conditionId, j]])),
    ),
  };
  polymarketUniverses.set(key, u);
  return u;
}

/**
 * A gamma market as gamma serves it (`GammaMarketWire`: the input of Polymarket's own `GammaMarketSchema`, so an
 * invented field fails to compile): `outcomes`, `outcomePrices` and `clobTokenIds` are JSON-encoded strings, and
 * the market's quirks (null or missing question/condition id/outcomes, prices as strings or numbers) applied.
 */
export function polymarketMarketWire(
  seed: number,
  m: PolymarketMarketSeed,
  now: number,
  shape: PolymarketShape = POLYMARKET_SHAPES.small,
): GammaMarketWire {
  const fair = roundToCent(fairNow(seed, m.conditionId, m.fairBp, now, shape.priceStepMs));
  const closed = polymarketClosed(m, now, shape);
  const q = m.quirks;
  const outcomes = q.outcomes === "up_down" ? ["Up", "Down"] : m.outcomes;
  const listed = q.outcomes !== "null" && q.outcomes !== "empty";
  const bid = (fair - 100) / 10_000;
  const ask = (fair + 100) / 10_000;
  const last = fair / 10_000;
  const asString = (n: number) => String(n);
  const prices =
    q.prices === "absent"
      ? {}
      : q.prices === "null"
        ? { bestBid: null, bestAsk: null, lastTradePrice: null }
        : q.prices === "string"
          ? { bestBid: asString(bid), bestAsk: asString(ask), lastTradePrice: asString(last) }
          : q.prices === "mixed"
            ? { bestBid: asString(bid), bestAsk: ask, lastTradePrice: asString(last) }
            : { bestBid: bid, bestAsk: ask, lastTradePrice: last };
  return {
    id: m.id,
    ...(q.question === "absent"
      ? {}
      : { question: q.question === "null" ? null : q.question === "empty" ? "" : m.question }),
    conditionId: q.conditionId === "null" ? null : q.conditionId === "empty" ? "" : m.conditionId,
    slug: m.slug,
    description: m.description,
    resolutionSource: m.resolutionSource,
    startDate: m.startDate,
    endDate: m.endDate,
    category: m.category,
    active: m.active,
    closed,
    ...(closed && !m.closed ? { closedTime: new Date(closesAt("realistic", m.id)!).toISOString() } : {}),
    outcomes: q.outcomes === "null" ? null : q.outcomes === "empty" ? "[]" : JSON.stringify(outcomes),
    outcomePrices: listed
      ? JSON.stringify([
          bpToDollars(fair, 2).replace(/0$/, ""),
          bpToDollars(10_000 - fair, 2).replace(/0$/, ""),
        ])
      : null,
    clobTokenIds: listed ? JSON.stringify(m.clobTokenIds) : null,
    acceptingOrders: !closed,
    enableOrderBook: listed,
    orderPriceMinTickSize: 0.01,
    orderMinSize: 5,
    ...prices,
    volumeNum: 1000 + (hash32(m.conditionId) % 500_000),
    liquidityNum: 500 + (hash32(m.slug) % 50_000),
    events: [{ id: String(90_000 + (Number(m.id) % 1000)), title: m.question }],
  } satisfies GammaMarketWire;
}

/** Whether a gamma market is closed at `now` (closed from the start, or closed over time in the realistic shape). */
export function polymarketClosed(m: PolymarketMarketSeed, now: number, shape: PolymarketShape): boolean {
  if (m.closed) return true;
  if (shape !== POLYMARKET_SHAPES.realistic || Number(m.id) - 500_000 < TRUE_PAIRS + LOOKALIKE_PAIRS)
    return false;
  const at = closesAt("realistic", m.id);
  return at !== null && now >= at;
}

/**
 * A CLOB book for one outcome token, as clob-client's `OrderBookSummary` types it (numbers as strings, `hash`
 * a 40-hex SHA-1 as Polymarket's bindings check it), or null for an unknown token.
 */
export function polymarketBook(
  seed: number,
  tokenId: string,
  now = Date.now(),
  shape: PolymarketShape = POLYMARKET_SHAPES.small,
): ClobBookWire | null {
  const u = polymarketUniverse(seed, shape);
  const hit = u.polyByToken.get(tokenId);
  if (!hit) return null;
  const m = u.poly[hit.index]!;
  const yesFair = roundToCent(fairNow(seed, m.conditionId, m.fairBp, now, shape.priceStepMs));
  const fair = hit.outcome === 0 ? yesFair : 10_000 - yesFair;
  const r = rng(hash32(`pbook:${seed}:${tokenId}:${Math.floor(now / shape.priceStepMs)}`));
  const fmt = (l: { bp: number; size: number }) => ({ price: bpToDollars(l.bp, 2), size: String(l.size) });
  // CLOB lists bids ascending and asks descending: the best level is the last entry of each.
  const bids = levels(r, fair - 100, 5).map(fmt);
  const asks = levels(r, 10_000 - (fair + 100), 5)
    .map((l) => ({ bp: 10_000 - l.bp, size: l.size }))
    .map(fmt);
  return {
    market: m.conditionId,
    asset_id: tokenId,
    timestamp: String(now),
    hash: hex(r, 40),
    bids,
    asks,
    min_order_size: "5",
    tick_size: "0.01",
    neg_risk: false,
    last_trade_price: bpToDollars(fair, 2),
  } satisfies ClobBookWire;
}
