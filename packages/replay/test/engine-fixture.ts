// The engine's fixed evidence set (engine.test.ts pins its report hash; the export and offline tests replay it too).
import { DEFAULT_RISK_LIMITS, type EvidenceSighting } from "@paulp/contracts";
import { sha256Hex } from "@paulp/kit";
import type { ReplayConfig } from "../src/engine";
import type { EvidenceSet } from "../src/evidence";

// A small evidence set written as the venues answer (docs/venues.md): Kalshi's series, events, markets and order
// book (kalshi-typescript models; fixed-point dollar strings, the book as YES and NO bids), gamma's keyset page and
// the CLOB book (Polymarket/ts-sdk bindings, clob-client's OrderBookSummary). One pair: Kalshi KXFED-26DEC-T4.00
// against a Polymarket market whose YES is Kalshi's YES.
export const K = "https://api.elections.kalshi.com/trade-api/v2";
export const TICKER = "KXFED-26DEC-T4.00";
export const CONDITION = `0x${"ab".repeat(32)}`;
export const YES_TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563";
export const NO_TOKEN = "52114319501245915516055106046884209969926127482827954674443846427813813222426";
export const T0 = Date.parse("2026-11-30T12:00:00.000Z");
export const at = (ms: number) => new Date(T0 + ms).toISOString();

export const series = {
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
export const events = {
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
export const markets = {
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
export const kalshiBook = (yes: [string, string][], no: [string, string][]) => ({
  orderbook_fp: { yes_dollars: yes, no_dollars: no },
});
export const gamma = {
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
export const clobBook = {
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

export interface Fetch {
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
export const FETCHES: Fetch[] = [
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

export async function evidence(fetches: Fetch[] = FETCHES): Promise<EvidenceSet & { hashes: string[] }> {
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

export const config = (over: Partial<ReplayConfig> = {}): ReplayConfig => ({
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
