// Dev history (#18 item 5): the tradable pairs' markets and books over a past window, on a simulated clock, so
// `pnpm dev` has hours of evidence to replay within minutes. Every byte takes ingestion's own path: the compliance
// gate in force decides which pairs are read (as for the fast path's books), `fetchVenue` keeps each answer as
// evidence and logs the fetch (with the simulated time), the venues' decoders accept or reject it. Only the clock
// is simulated, and only the venue simulator is asked (it answers as at the time a request names: `SIM_AT_HEADER`).
// Nothing here writes the live tables (markets and their marks, books): a past answer never replaces a newer one there.
//
// Fail closed: refused unless the dev config says `DEV_HISTORY: "on"` (no deployed environment declares it) and the
// venue simulator is bound (only the dev config binds it), so it can never read a real venue with a made-up time.
import {
  ErrorCode,
  err,
  type HistoryRecordReport,
  type HistoryRecordRequest,
  type MarketRecord,
  ok,
  type Result,
  type TradablePair,
} from "@paulp/contracts";
import { createKalshiSigner } from "@paulp/kit";
import {
  clobBookUrl,
  decodeBook,
  GammaKeysetPage,
  gammaLookupChunks,
  gammaMarketsByIdUrl,
  KalshiEventsPage,
  KalshiMarketsPage,
  KalshiSeriesOne,
  kalshiEventsUrl,
  kalshiMarketsByTickerUrl,
  kalshiOrderbookUrl,
  kalshiSeriesUrl,
} from "@paulp/venue-decode";
import { type ComplianceAgent, gateWithCurrentRules } from "./compliance";
import { type PipelineDeps, Tally, venueBuckets } from "./deps";
import { markEvidence } from "./evidence";
import { lookupChunks } from "./kalshi-series";
import { getMarketRow } from "./market-queries";
import { fetchParsed, fetchVenue } from "./venue-reads";

/** The request header the venue simulator answers by: the simulated time, in ms since the epoch. */
export const SIM_AT_HEADER = "x-venue-sim-at";

/** Book reads in flight at once (the venues' buckets still pace them). */
const CONCURRENCY = 8;

/** Why this deployment refuses dev history, or null when it may record. */
export function historyRefusal(env: { DEV_HISTORY?: string; VENUE_SIM?: Fetcher }): string | null {
  if (env.DEV_HISTORY !== "on") return "dev history is off (DEV_HISTORY is set only in the local dev config)";
  if (!env.VENUE_SIM) return "dev history reads only the venue simulator, which is not bound here";
  return null;
}

/** A pair whose legs are stored and allowed by the gate. */
interface Readable {
  kalshi: MarketRecord;
  polymarket: MarketRecord;
}

/** The clock of one tick: the tick's time, then running at wall speed (so buckets and retries behave). */
function tickClock(atMs: number): () => number {
  const started = Date.now();
  return () => atMs + (Date.now() - started);
}

/**
 * Record [from, to) at ticks `stepMs` apart. At the first tick the Kalshi legs' events and series (what a market's
 * category comes from), then at every tick the Kalshi legs' markets (so every held position is re-marked first),
 * the Polymarket legs' markets, and both legs' books.
 */
export async function recordHistory(
  base: PipelineDeps,
  env: { KALSHI_READ_API_KEY?: string; KALSHI_READ_PRIVATE_KEY?: string; VENUE_SIM?: Fetcher },
  pairs: readonly TradablePair[],
  request: HistoryRecordRequest,
  wallNow: number,
): Promise<Result<HistoryRecordReport>> {
  const from = Date.parse(request.from);
  const to = Date.parse(request.to);
  if (to > wallNow)
    return err(ErrorCode.validationFailed, "to: history is of the past (to must not be in the future)");
  const agent = await gateWithCurrentRules(base.db, base.agent).catch(() => null);
  if (!agent || agent.unavailable)
    return err(ErrorCode.serviceUnavailable, "the compliance rules cannot be loaded: nothing is read");

  const readable: Readable[] = [];
  let skipped = 0;
  for (const p of pairs) {
    const legs = await legsOf(base.db, agent, p, wallNow);
    if (legs) readable.push(legs);
    else skipped++;
  }
  const tally = new Tally();
  const report: HistoryRecordReport = {
    ticks: 0,
    pairs: readable.length,
    skipped,
    fetches: 0,
    failed: 0,
    errors: tally.errors,
  };
  for (let at = from; at < to; at += request.stepMs) {
    const deps = tickDeps(base, env, tickClock(at));
    const counted = counting(deps, report);
    if (at === from) await metadata(counted, tally, readable);
    await markets(counted, tally, readable);
    await books(counted, readable, report);
    report.ticks++;
  }
  return ok(report);
}

/** Both legs of a pair as stored, when the gate allows both; null otherwise. */
async function legsOf(
  db: D1Database,
  agent: ComplianceAgent,
  p: TradablePair,
  now: number,
): Promise<Readable | null> {
  const [kalshi, polymarket] = await Promise.all([
    getMarketRow(db, "kalshi", p.kalshi.marketId, now),
    getMarketRow(db, "polymarket", p.polymarket.marketId, now),
  ]);
  if (!kalshi || !polymarket?.outcomeTokens?.[0]) return null;
  if (agent.check(kalshi).decision !== "allow" || agent.check(polymarket).decision !== "allow") return null;
  return { kalshi, polymarket };
}

/** The run's deps on the tick's clock: its own buckets, a signer and the simulator asked as at that time. */
function tickDeps(
  base: PipelineDeps,
  env: { KALSHI_READ_API_KEY?: string; KALSHI_READ_PRIVATE_KEY?: string; VENUE_SIM?: Fetcher },
  now: () => number,
): PipelineDeps {
  return {
    ...base,
    now,
    buckets: venueBuckets(now()),
    // Signed at the simulated time: the simulator checks a signature's timestamp against the time it answers at.
    kalshiSigner: createKalshiSigner({
      keyId: env.KALSHI_READ_API_KEY,
      privateKeyPem: env.KALSHI_READ_PRIVATE_KEY,
      now,
    }),
    fetch: (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set(SIM_AT_HEADER, String(Math.floor(now())));
      return base.fetch(input, { ...init, headers });
    },
  };
}

/** Deps whose fetches are counted in the report (every answer kept as evidence is one fetch). */
function counting(deps: PipelineDeps, report: HistoryRecordReport): PipelineDeps {
  return {
    ...deps,
    fetch: async (input, init) => {
      const res = await deps.fetch(input, init);
      report.fetches++;
      if (!res.ok) report.failed++;
      return res;
    },
  };
}

async function metadata(deps: PipelineDeps, tally: Tally, pairs: Readable[]): Promise<void> {
  const events = [...new Set(pairs.map((p) => p.kalshi.eventId).filter((e): e is string => !!e))];
  const series = new Set<string>();
  for (const chunk of lookupChunks(events)) {
    const got = await fetchParsed(deps, tally, "kalshi", kalshiEventsUrl(chunk, null), KalshiEventsPage);
    if (!got) continue;
    await markEvidence(deps.db, got.evidenceHash, "accepted", null).run();
    for (const e of got.value.events) if (chunk.includes(e.event_ticker)) series.add(e.series_ticker);
  }
  for (const ticker of series) {
    const got = await fetchParsed(deps, tally, "kalshi", kalshiSeriesUrl(ticker), KalshiSeriesOne);
    if (got) await markEvidence(deps.db, got.evidenceHash, "accepted", null).run();
  }
}

async function markets(deps: PipelineDeps, tally: Tally, pairs: Readable[]): Promise<void> {
  for (const chunk of lookupChunks(pairs.map((p) => p.kalshi.marketId))) {
    const got = await fetchParsed(deps, tally, "kalshi", kalshiMarketsByTickerUrl(chunk), KalshiMarketsPage);
    if (got) await markEvidence(deps.db, got.evidenceHash, "accepted", null).run();
  }
  for (const chunk of gammaLookupChunks(pairs.map((p) => p.polymarket.marketId))) {
    const got = await fetchParsed(
      deps,
      tally,
      "polymarket",
      gammaMarketsByIdUrl(chunk, null),
      GammaKeysetPage,
    );
    if (got) await markEvidence(deps.db, got.evidenceHash, "accepted", null).run();
  }
}

/** Both legs' books of every pair, each kept as evidence and decoded as the live read decodes it. */
async function books(deps: PipelineDeps, pairs: Readable[], report: HistoryRecordReport): Promise<void> {
  const queue = pairs.flatMap((p) => [p.kalshi, p.polymarket]);
  const worker = async () => {
    for (let m = queue.shift(); m; m = queue.shift()) {
      const yesToken = m.outcomeTokens?.[0];
      const url = m.venue === "kalshi" ? kalshiOrderbookUrl(m.marketId) : clobBookUrl(yesToken!);
      const outcome = await fetchVenue(deps, m.venue, url);
      if (!outcome.ok) {
        report.errors[outcome.kind] = (report.errors[outcome.kind] ?? 0) + 1;
        if (outcome.evidenceHash)
          await markEvidence(deps.db, outcome.evidenceHash, "rejected", outcome.kind).run();
        continue;
      }
      const decoded = decodeBook(m, yesToken, outcome.response.bytes);
      if (!decoded.ok) report.errors[decoded.kind] = (report.errors[decoded.kind] ?? 0) + 1;
      await markEvidence(
        deps.db,
        outcome.evidenceHash,
        decoded.ok ? "accepted" : "rejected",
        decoded.ok ? null : `${decoded.kind}: ${decoded.detail}`,
      ).run();
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
}
