import { DEFAULT_RISK_LIMITS, type EvidenceSighting, ReplayRefusalCode } from "@paulp/contracts";
import * as KalshiSpec from "@paulp/kalshi-spec";
import { parseDollars, parseQuantity, sha256Hex } from "@paulp/kit";
import { decodeBook } from "@paulp/venue-decode";
import { clobBookIssues, gammaKeysetPageIssues } from "@paulp/venue-models";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { finish, isDone, type ReplayConfig, runReplay, startReplay, step } from "../src/engine";
import { type EvidenceSet, verifiedTimeline } from "../src/evidence";
import { reportHash } from "../src/report";

// A small evidence set written as the venues answer (docs/venues.md): Kalshi's series, events, markets and order
// book (kalshi-typescript models; fixed-point dollar strings, the book as YES and NO bids), gamma's keyset page and
// the CLOB book (Polymarket/ts-sdk bindings, clob-client's OrderBookSummary). One pair: Kalshi KXFED-26DEC-T4.00
// against a Polymarket market whose YES is Kalshi's YES.
const K = "https://api.elections.kalshi.com/trade-api/v2";
const TICKER = "KXFED-26DEC-T4.00";
const CONDITION = `0x${"ab".repeat(32)}`;
const YES_TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563";
const NO_TOKEN = "52114319501245915516055106046884209969926127482827954674443846427813813222426";
const T0 = Date.parse("2026-11-30T12:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();

const series = {
  series: {
    ticker: "KXFED",
    frequency: "custom",
    title: "Fed funds rate",
    category: "Economics",
    categories: ["Economics"],
    tags: ["Fed"],
    settlement_sources: [{ name: "Federal Reserve", url: "https://www.federalreserve.gov" }],
    contract_url: "https://kalshi.com/contracts/fed",
    contract_terms_url: "https://kalshi.com/terms/fed",
    fee_type: "quadratic",
    fee_multiplier: 1,
    additional_prohibitions: [],
    last_updated_ts: "2026-11-01T00:00:00Z",
  },
};
const events = {
  events: [
    {
      event_ticker: "KXFED-26DEC",
      series_ticker: "KXFED",
      sub_title: "December 2026",
      title: "Fed rate after the December 2026 meeting",
      collateral_return_type: "",
      mutually_exclusive: true,
      strike_date: "2026-12-16T18:00:00Z",
      settlement_sources: [{ name: "Federal Reserve", url: "https://www.federalreserve.gov" }],
    },
  ],
  cursor: "",
};
const markets = {
  markets: [
    {
      ticker: TICKER,
      event_ticker: "KXFED-26DEC",
      market_type: "binary",
      title: "Fed rate above 4.00% after December 2026?",
      yes_sub_title: "Above 4.00%",
      no_sub_title: "Above 4.00%",
      status: "active",
      created_time: "2026-09-30T14:00:00Z",
      updated_time: "2026-11-30T11:59:00Z",
      open_time: "2026-10-01T14:00:00Z",
      close_time: "2026-12-16T18:00:00Z",
      expected_expiration_time: "2026-12-17T18:00:00Z",
      latest_expiration_time: "2026-12-24T18:00:00Z",
      settlement_timer_seconds: 3600,
      yes_bid_dollars: "0.4400",
      yes_bid_size_fp: "60.00",
      yes_ask_dollars: "0.4600",
      yes_ask_size_fp: "10.00",
      no_bid_dollars: "0.5400",
      no_ask_dollars: "0.5600",
      last_price_dollars: "0.4500",
      volume_fp: "1520.00",
      volume_24h_fp: "310.00",
      result: "",
      can_close_early: true,
      open_interest_fp: "830.00",
      notional_value_dollars: "1.0000",
      previous_yes_bid_dollars: "0.4300",
      previous_yes_ask_dollars: "0.4500",
      previous_price_dollars: "0.4400",
      expiration_value: "",
      strike_type: "greater",
      floor_strike: 4,
      rules_primary: "If the upper bound of the federal funds rate is above 4.00%, the market resolves Yes.",
      rules_secondary: "",
      price_level_structure: "linear_cent",
      price_ranges: [{ start: "0.0000", end: "1.0000", step: "0.0100" }],
    },
  ],
  cursor: "",
};
const kalshiBook = (yes: [string, string][], no: [string, string][]) => ({
  orderbook_fp: { yes_dollars: yes, no_dollars: no },
});
const gamma = {
  markets: [
    {
      id: "512345",
      question: "Will the Fed rate be above 4.00% after the December 2026 meeting?",
      conditionId: CONDITION,
      slug: "fed-above-4-december-2026",
      description: "Resolves Yes if the upper bound of the federal funds rate is above 4.00%.",
      resolutionSource: "https://www.federalreserve.gov",
      endDate: "2026-12-16T18:00:00Z",
      category: "Economics",
      active: true,
      closed: false,
      outcomes: '["Yes","No"]',
      outcomePrices: '["0.55","0.45"]',
      clobTokenIds: JSON.stringify([YES_TOKEN, NO_TOKEN]),
      bestBid: 0.54,
      bestAsk: 0.56,
      lastTradePrice: 0.55,
      events: [{ id: "90123" }],
    },
  ],
};
const clobBook = {
  market: CONDITION,
  asset_id: YES_TOKEN,
  timestamp: "1796040010000",
  hash: "5b1f2c0e9d4a7c3b8e6f1a2d9c0b7e4f3a6d8c1b",
  bids: [
    { price: "0.53", size: "400" },
    { price: "0.54", size: "250" },
  ],
  asks: [
    { price: "0.57", size: "300" },
    { price: "0.56", size: "200" },
  ],
  min_order_size: "5",
  tick_size: "0.01",
  neg_risk: false,
  last_trade_price: "0.55",
};

interface Fetch {
  ms: number;
  venue: "kalshi" | "polymarket";
  url: string;
  body: unknown;
}

/**
 * The recorded fetches: metadata, then books. The first Kalshi book shows 10 contracts at the best ask; the one
 * fetched 100 ms later, in the next minute (in force at decision + 250 ms), only 3, so the first order fills 3.
 * The third signals in the same minute as the second: the loop trades a pair once a minute, so it is not traded.
 * The Polymarket book is then 80 s old. The last Kalshi book comes 10 s after a second Polymarket book.
 */
const FETCHES: Fetch[] = [
  { ms: 0, venue: "kalshi", url: `${K}/series/KXFED`, body: series },
  { ms: 1_000, venue: "kalshi", url: `${K}/events?tickers=KXFED-26DEC&limit=200`, body: events },
  {
    ms: 2_000,
    venue: "kalshi",
    url: `${K}/markets?limit=1000&status=open&mve_filter=exclude`,
    body: markets,
  },
  {
    ms: 3_000,
    venue: "polymarket",
    url: "https://gamma-api.polymarket.com/markets/keyset?closed=false&limit=500",
    body: gamma,
  },
  {
    ms: 10_000,
    venue: "polymarket",
    url: `https://clob.polymarket.com/book?token_id=${YES_TOKEN}`,
    body: clobBook,
  },
  {
    ms: 59_900,
    venue: "kalshi",
    url: `${K}/markets/${TICKER}/orderbook`,
    body: kalshiBook(
      [
        ["0.4300", "120.00"],
        ["0.4400", "60.00"],
      ],
      [
        ["0.5300", "20.00"],
        ["0.5400", "10.00"],
      ],
    ),
  },
  {
    ms: 60_000,
    venue: "kalshi",
    url: `${K}/markets/${TICKER}/orderbook`,
    body: kalshiBook(
      [["0.4400", "60.00"]],
      [
        ["0.5200", "50.00"],
        ["0.5400", "3.00"],
      ],
    ),
  },
  {
    ms: 90_000,
    venue: "kalshi",
    url: `${K}/markets/${TICKER}/orderbook`,
    body: kalshiBook([["0.4500", "80.00"]], [["0.5000", "40.00"]]),
  },
  {
    ms: 400_000,
    venue: "polymarket",
    url: `https://clob.polymarket.com/book?token_id=${YES_TOKEN}`,
    body: clobBook,
  },
  {
    ms: 410_000,
    venue: "kalshi",
    url: `${K}/markets/${TICKER}/orderbook`,
    body: kalshiBook([["0.4500", "80.00"]], [["0.5400", "15.00"]]),
  },
];

async function evidence(fetches: Fetch[] = FETCHES): Promise<EvidenceSet & { hashes: string[] }> {
  const objects = new Map<string, Uint8Array>();
  const sightings: EvidenceSighting[] = [];
  const hashes: string[] = [];
  for (const f of fetches) {
    const bytes = new TextEncoder().encode(JSON.stringify(f.body));
    const hash = await sha256Hex(bytes);
    objects.set(hash, bytes);
    hashes.push(hash);
    sightings.push({ hash, venue: f.venue, url: f.url, fetchedAt: at(f.ms), status: 200 });
  }
  return { objects, sightings, hashes };
}

const config = (over: Partial<ReplayConfig> = {}): ReplayConfig => ({
  strategy: {
    id: "rv-fed",
    kind: "cross_venue_rv",
    params: { margin: "0.02", maxContracts: 10, maxPosition: 50 },
    allocation: "1000.00",
  },
  pairs: [
    {
      pairId: "pair-fed",
      kalshi: { marketId: TICKER },
      polymarket: { marketId: CONDITION, yesToken: YES_TOKEN },
      yesMapsTo: "YES",
    },
  ],
  window: { from: at(-60_000), to: at(3_600_000) },
  risk: { limits: { ...DEFAULT_RISK_LIMITS }, limitsVersion: 1 },
  startingEquity: "10000.00",
  latencyMs: 250,
  codeVersion: "offline",
  ...over,
});

async function report(over: Partial<ReplayConfig> = {}, stepSize?: number) {
  const r = await runReplay(await evidence(), config(over), stepSize);
  if (!r.ok) throw new Error(r.refusal.message);
  return r.report;
}

describe("the replay engine over a fixed evidence set", () => {
  it("gives a pinned report hash (the same in Node and workerd)", async () => {
    const r = await report();
    expect(r.summary).toMatchObject({ decisions: 4, orders: 3, fills: 2, denialsByCode: {} });
    expect(r.manifest.sightings).toBe(FETCHES.length);
    // Every object once (the Polymarket book was fetched twice, the same bytes).
    expect(r.manifest.evidence).toEqual([...new Set((await evidence()).hashes)].sort());
    // By hand: 3 @ 0.46, then 10 @ 0.46; Kalshi's fee 0.07 × C × P × (1 − P) up to the cent: 0.06, 0.18.
    expect(r.summary).toMatchObject({ fees: "0.2400", turnover: "5.9800" });
    expect(await reportHash(r)).toBe("b02f383103115871b73e4f81323eda7d76d44e5602b7a49d22a3691c83b744ac");
  });

  it("running in steps of 1, 3 and all at once gives the same hash; the state between steps is plain JSON", async () => {
    const set = await evidence();
    const c = config();
    const timeline = await verifiedTimeline(set, {
      fromMs: Date.parse(c.window.from),
      toMs: Date.parse(c.window.to),
    });
    if (!timeline.ok) throw new Error(timeline.refusal.message);
    const hashes = new Set<string>();
    for (const size of [1, 3, FETCHES.length]) {
      let state = startReplay(c);
      let steps = 0;
      while (!isDone(state, timeline.sightings)) {
        // What a Durable Object stores between alarms, and reads back.
        state = JSON.parse(JSON.stringify(step(state, timeline.sightings, size)));
        steps++;
      }
      expect(steps).toBe(Math.ceil(FETCHES.length / size));
      hashes.add(await reportHash(finish(state)));
    }
    hashes.add(await reportHash(await report()));
    expect(hashes.size).toBe(1);
  });

  it("refuses a set with one changed byte in any object, naming that object", async () => {
    const set = await evidence();
    for (const hash of set.hashes) {
      const objects = new Map(set.objects);
      const bytes = Uint8Array.from(objects.get(hash)!);
      const i = bytes.length - 2;
      bytes[i] = bytes[i]! ^ 1;
      objects.set(hash, bytes);
      const r = await runReplay({ objects, sightings: set.sightings }, config());
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.refusal.code).toBe(ReplayRefusalCode.hashMismatch);
        expect(r.refusal.hash).toBe(hash);
        expect(r.refusal.message).toContain(hash);
      }
    }
  });

  it("fills against the book in force at decision + latency, never beyond its recorded depth", async () => {
    const set = await evidence();
    const r = await report();
    const first = r.trades[0]!;
    // Decided on 10 contracts shown at 0.4600; 100 ms later the book showed 3 there: 3 filled, the rest cancelled.
    // (The two orders are a minute apart by the clock: 59.9 s and 60.0 s after T0.)
    expect(first).toMatchObject({
      side: "buy",
      quantity: 10,
      limitPrice: "0.4600",
      filled: 3,
      avgPrice: "0.4600",
    });
    expect(first.bookEvidenceHash).toBe(set.hashes[6]);
    expect(Date.parse(first.filledAt) - Date.parse(first.decidedAt)).toBe(250);
    // The order decided on that thinner book (3 shown) fills after the first took those 3: nothing is left.
    expect(r.trades[1]).toMatchObject({ quantity: 3, filled: 0, avgPrice: null, fee: "0.0000" });
    for (const t of r.trades) {
      const book = decodeBook(
        { venue: "kalshi", marketId: TICKER },
        undefined,
        set.objects.get(t.bookEvidenceHash)!,
      );
      if (!book.ok) throw new Error(book.detail);
      const depth = book.book.asks
        .filter((l) => parseDollars(l.price) <= parseDollars(t.limitPrice))
        .reduce((n, l) => n + parseQuantity(l.size), 0);
      expect(parseQuantity(t.filled)).toBeLessThanOrEqual(Math.min(depth, parseQuantity(t.quantity)));
    }
  });

  it("takes a Kalshi leg's category as ingestion held it at the start when the window re-fetches no event or series", async () => {
    // Ingestion looks an event up once and the series list once a pass: a window of books and pages alone.
    const noMetadata = FETCHES.filter((f) => !/\/(events|series)\b/.test(f.url));
    const run = async (category?: { name: string; since: string; evidence: string[] }) => {
      const c = config();
      const pair = c.pairs[0]!;
      const r = await runReplay(
        await evidence(noMetadata),
        config({ pairs: [{ ...pair, kalshi: { ...pair.kalshi, ...(category ? { category } : {}) } }] }),
      );
      if (!r.ok) throw new Error(r.refusal.message);
      return r.report;
    };
    // Risk refuses an opening order on a market with no category: without it, every order is denied.
    const bare = await run();
    expect(bare.summary.orders).toBe(0);
    // Four: a denial leaves no order, so the third signal (same minute as the second) is evaluated too.
    expect(bare.summary.denialsByCode).toEqual({ NO_CATEGORY: 4 });
    // Held since before the window: the same orders as the window with the event and series answers in it.
    const held = { name: "Economics", since: at(-3_600_000), evidence: ["e".repeat(64), "s".repeat(64)] };
    const withIt = await run(held);
    const full = await report();
    expect(withIt.summary).toMatchObject({ decisions: 4, orders: 3, fills: 2, denialsByCode: {} });
    expect(withIt.trades).toEqual(full.trades);
    expect(withIt.manifest.pairs[0]!.kalshi.category).toEqual(held);
    // Learned only after the window's decisions: not used before then.
    const late = await run({ ...held, since: at(500_000) });
    expect(late.summary.orders).toBe(0);
    expect(late.summary.denialsByCode).toEqual({ NO_CATEGORY: 4 });
  });

  it("decides only on books as fresh as the loop reads (a leg's book over 120 s old: no decision)", async () => {
    // Without the second Polymarket book, the last Kalshi book meets one 400 s old: the loop would have read a
    // fresh one (a sighting of its own), so the replay takes no decision there.
    const r = await runReplay(await evidence(FETCHES.filter((f) => f.ms !== 400_000)), config());
    if (!r.ok) throw new Error(r.refusal.message);
    expect(r.report.summary).toMatchObject({ decisions: 3, orders: 2, staleDecisionShare: "0.0000" });
  });

  it("counts risk's denials by code, and decisions taken on a stale book", async () => {
    const r = await report({
      risk: { limits: { ...DEFAULT_RISK_LIMITS, maxOrderQuantity: 2 }, limitsVersion: 2 },
    });
    expect(r.summary.orders).toBe(0);
    expect(Object.keys(r.summary.denialsByCode)).toContain("QUANTITY_LIMIT_EXCEEDED");
    expect(r.manifest.risk.limitsVersion).toBe(2);
    // Four decisions; the third was on a Polymarket book 80 s old: stale under a 60-s freshness limit.
    expect((await report()).summary.staleDecisionShare).toBe("0.0000");
    const strict = await report({
      risk: { limits: { ...DEFAULT_RISK_LIMITS, maxMarkAgeSeconds: 60 }, limitsVersion: 3 },
    });
    expect(strict.summary).toMatchObject({ decisions: 4, staleDecisionShare: "0.2500" });
  });
});

describe("the fixture is what the venues' own models accept", () => {
  it("Kalshi's (kalshi-spec, strict) and Polymarket's (ts-sdk bindings, clob-client)", async () => {
    const strict = [
      [KalshiSpec.GetSeriesResponse, series],
      [KalshiSpec.GetEventsResponse, events],
      [KalshiSpec.GetMarketsResponse, markets],
      ...FETCHES.filter((f) => f.url.endsWith("/orderbook")).map(
        (f) => [KalshiSpec.GetMarketOrderbookResponse, f.body] as const,
      ),
    ] as const;
    for (const [schema, body] of strict) {
      const r = v.safeParse(schema, body);
      expect(r.issues?.map((i) => `${v.getDotPath(i)}: ${i.message}`) ?? []).toEqual([]);
    }
    expect(gammaKeysetPageIssues(gamma)).toEqual([]);
    expect(clobBookIssues(clobBook)).toEqual([]);
  });
});
