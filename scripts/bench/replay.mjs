// Replay benchmark (#18 item 6): evidence objects/s through the replay engine (re-hash, decode as ingestion decodes,
// the strategy's signal, risk's evaluation, the fill model) as a ratio to a floor measured side by side in the same
// run: `JSON.parse` + SHA-256 of the same bytes (target >= 0.3). Both run in this Node process, the engine exactly as
// `pnpm replay` runs it (`runReplay` over an evidence set), the floor with the same WebCrypto digest the engine uses.
//
// The evidence is a recorded hour as the mesh fetches it (docs/venues.md): every minute one Kalshi markets page and
// one gamma keyset page, every ten seconds each pair's Kalshi order book and CLOB book, Kalshi series and events
// every ten minutes; the two venues' prices walk apart and back so the strategy trades and the fill model runs.
// Run: `node scripts/bench/replay.mjs` (no build needed: the engine is TypeScript loaded through tsx).
import { performance } from "node:perf_hooks";
import { tsImport } from "tsx/esm/api";
import { SMOKE, size } from "./_harness.mjs";

// The workspace packages through their exports (TypeScript source, loaded through tsx), as any consumer takes them.
const replay = await tsImport("@paulp/replay", import.meta.url);
const { DEFAULT_RISK_LIMITS } = await tsImport("@paulp/contracts", import.meta.url);
const { sha256Hex, seededRandom } = await tsImport("@paulp/kit", import.meta.url);
// The venue answers as the engine's own tests write them (kalshi-typescript and Polymarket's SDK models), re-priced.
const fixture = await tsImport("@paulp/replay/engine-fixture", import.meta.url);

const PAIRS = size(10, 2);
const MINUTES = size(60, 3);
const FILLER_KALSHI = size(190, 10);
const FILLER_GAMMA = size(90, 10);
const K = "https://api.elections.kalshi.com/trade-api/v2";
const T0 = Date.parse("2026-11-30T12:00:00.000Z");
const at = (ms) => new Date(T0 + ms).toISOString();

// The same evidence every run, so the runs compare.
const random = seededRandom(18);
const d4 = (p) => p.toFixed(4);
const d2 = (p) => p.toFixed(2);
const clamp = (p) => Math.min(0.9, Math.max(0.1, p));

const ticker = (i) => `KXBENCH-26DEC-T${i}`;
const condition = (i) => `0x${i.toString(16).padStart(64, "0")}`;
const token = (i, side) => `${side === "yes" ? 7 : 5}${String(i).padStart(76, "0")}`;

function kalshiMarket(t, event, mid) {
  return {
    ...fixture.markets.markets[0],
    ticker: t,
    event_ticker: event,
    title: `Bench market ${t}?`,
    yes_bid_dollars: d4(mid - 0.01),
    yes_ask_dollars: d4(mid + 0.01),
    no_bid_dollars: d4(1 - mid - 0.01),
    no_ask_dollars: d4(1 - mid + 0.01),
    last_price_dollars: d4(mid),
    rules_primary: `If the bench quantity ${t} is above its strike, the market resolves Yes.`,
  };
}

function gammaMarket(i, mid) {
  return {
    ...fixture.gamma.markets[0],
    id: String(500_000 + i),
    question: `Will bench quantity ${i} be above its strike?`,
    conditionId: condition(i),
    slug: `bench-${i}`,
    outcomePrices: JSON.stringify([d2(mid), d2(1 - mid)]),
    clobTokenIds: JSON.stringify([token(i, "yes"), token(i, "no")]),
    bestBid: Number(d2(mid - 0.01)),
    bestAsk: Number(d2(mid + 0.01)),
    lastTradePrice: Number(d2(mid)),
    events: [{ id: String(90_000 + i) }],
  };
}

/** The recorded hour: every fetch in order, its body as the venue would answer. */
function recordedFetches() {
  const fetches = [];
  const kalshiMid = Array.from({ length: PAIRS }, () => 0.3 + random() * 0.4);
  const polyMid = kalshiMid.slice();
  const seriesBody = { series: { ...fixture.series.series, ticker: "KXBENCH", title: "Bench quantities" } };
  const eventsBody = {
    events: Array.from({ length: PAIRS }, (_, i) => ({
      ...fixture.events.events[0],
      event_ticker: `KXBENCH-26DEC-${i}`,
      series_ticker: "KXBENCH",
      title: `Bench quantity ${i} in December 2026`,
    })),
    cursor: "",
  };
  for (let minute = 0; minute < MINUTES; minute++) {
    const base = minute * 60_000;
    if (minute % 10 === 0) {
      fetches.push({ ms: base, venue: "kalshi", url: `${K}/series/KXBENCH`, body: seriesBody });
      const tickers = eventsBody.events.map((e) => e.event_ticker).join(",");
      fetches.push({
        ms: base + 100,
        venue: "kalshi",
        url: `${K}/events?tickers=${tickers}&limit=200`,
        body: eventsBody,
      });
    }
    const markets = [
      ...kalshiMid.map((mid, i) => kalshiMarket(ticker(i), `KXBENCH-26DEC-${i}`, mid)),
      ...Array.from({ length: FILLER_KALSHI }, (_, j) =>
        kalshiMarket(`KXOTHER-${j}`, `KXOTHER-EV-${j}`, 0.5),
      ),
    ];
    fetches.push({
      ms: base + 200,
      venue: "kalshi",
      url: `${K}/markets?limit=1000&status=open&mve_filter=exclude`,
      body: { markets, cursor: "" },
    });
    const gamma = [
      ...polyMid.map((mid, i) => gammaMarket(i, mid)),
      ...Array.from({ length: FILLER_GAMMA }, (_, j) => gammaMarket(10_000 + j, 0.5)),
    ];
    fetches.push({
      ms: base + 300,
      venue: "polymarket",
      url: "https://gamma-api.polymarket.com/markets/keyset?closed=false&limit=500",
      body: { markets: gamma },
    });
    for (let tick = 0; tick < 6; tick++) {
      const ms = base + 1_000 + tick * 10_000;
      for (let i = 0; i < PAIRS; i++) {
        // Each venue walks on its own, so the two sometimes part by more than the strategy's margin.
        kalshiMid[i] = clamp(kalshiMid[i] + (random() - 0.5) * 0.04);
        polyMid[i] = clamp(polyMid[i] + (random() - 0.5) * 0.04);
        const k = kalshiMid[i];
        const p = polyMid[i];
        fetches.push({
          ms: ms + i * 20,
          venue: "polymarket",
          url: `https://clob.polymarket.com/book?token_id=${token(i, "yes")}`,
          body: {
            ...fixture.clobBook,
            market: condition(i),
            asset_id: token(i, "yes"),
            timestamp: String(T0 + ms + i * 20),
            bids: [
              { price: d2(p - 0.02), size: "400" },
              { price: d2(p - 0.01), size: "250" },
            ],
            asks: [
              { price: d2(p + 0.02), size: "300" },
              { price: d2(p + 0.01), size: "200" },
            ],
            last_trade_price: d2(p),
          },
        });
        fetches.push({
          ms: ms + i * 20 + 10,
          venue: "kalshi",
          url: `${K}/markets/${ticker(i)}/orderbook`,
          body: {
            orderbook_fp: {
              yes_dollars: [
                [d4(k - 0.02), "120.00"],
                [d4(k - 0.01), "60.00"],
              ],
              no_dollars: [
                [d4(1 - k - 0.02), "40.00"],
                [d4(1 - k - 0.01), "20.00"],
              ],
            },
          },
        });
      }
    }
  }
  return fetches;
}

async function evidenceSet() {
  const objects = new Map();
  const sightings = [];
  for (const f of recordedFetches()) {
    const bytes = new TextEncoder().encode(JSON.stringify(f.body));
    const hash = await sha256Hex(bytes);
    objects.set(hash, bytes);
    sightings.push({ hash, venue: f.venue, url: f.url, fetchedAt: at(f.ms), status: 200 });
  }
  return { objects, sightings };
}

const config = {
  strategy: {
    id: "bench-rv",
    kind: "cross_venue_rv",
    params: { margin: "0.02", maxContracts: 10, maxPosition: 50 },
    allocation: "5000.00",
  },
  pairs: Array.from({ length: PAIRS }, (_, i) => ({
    pairId: `pair-${i}`,
    kalshi: { marketId: ticker(i) },
    polymarket: { marketId: condition(i), yesToken: token(i, "yes") },
    yesMapsTo: "YES",
  })),
  window: { from: at(-60_000), to: at(MINUTES * 60_000 + 60_000) },
  risk: { limits: { ...DEFAULT_RISK_LIMITS }, limitsVersion: 1 },
  startingEquity: "10000.00",
  latencyMs: 250,
  codeVersion: "bench",
};

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const set = await evidenceSet();
const sightings = set.sightings;
const bytesTotal = sightings.reduce((n, s) => n + set.objects.get(s.hash).byteLength, 0);

/** The floor: each sighting's bytes parsed and hashed, nothing else. */
async function floorOnce() {
  const decoder = new TextDecoder();
  const t = performance.now();
  for (const s of sightings) {
    const bytes = set.objects.get(s.hash);
    JSON.parse(decoder.decode(bytes));
    await crypto.subtle.digest("SHA-256", bytes);
  }
  return performance.now() - t;
}

let report;
async function engineOnce() {
  const t = performance.now();
  const r = await replay.runReplay(set, config);
  const ms = performance.now() - t;
  if (!r.ok) throw new Error(`the bench's evidence was refused: ${r.refusal.message}`);
  report = r.report;
  return ms;
}

// Warm both paths, then alternate them so a change in the machine's load falls on both.
await floorOnce();
await engineOnce();
const RUNS = size(5, 1);
const floors = [];
const engines = [];
for (let i = 0; i < RUNS; i++) {
  floors.push(await floorOnce());
  engines.push(await engineOnce());
}
const floorMs = median(floors);
const engineMs = median(engines);
const hashA = await replay.reportHash(report);
await engineOnce();
const hashB = await replay.reportHash(report);
if (hashA !== hashB)
  throw new Error(`two runs over the same evidence gave two report hashes: ${hashA} ${hashB}`);
const s = report.summary;
if (!SMOKE && (s.orders === 0 || s.fills === 0))
  throw new Error(
    `the bench's hour placed no filled order (orders ${s.orders}, fills ${s.fills}): it would not measure the fill model`,
  );

const perSecond = (ms) => Math.round((sightings.length / ms) * 1000);
const ratio = floorMs / engineMs;
console.log(
  `evidence: ${sightings.length} objects (${(bytesTotal / 1e6).toFixed(1)} MB) over ${MINUTES} min, ${PAIRS} pairs; ` +
    `replay: ${s.decisions} decisions, ${s.orders} orders, ${s.fills} fills; report ${hashA.slice(0, 12)}… (same twice)`,
);
console.log(
  `floor (JSON.parse + SHA-256):  ${perSecond(floorMs)} objects/s (${floorMs.toFixed(0)} ms, median of ${RUNS})`,
);
console.log(
  `replay engine (runReplay):     ${perSecond(engineMs)} objects/s (${engineMs.toFixed(0)} ms, median of ${RUNS})`,
);
console.log(`ratio to floor: ${ratio.toFixed(2)} (target >= 0.3)${ratio >= 0.3 ? "" : "  BELOW TARGET"}`);
