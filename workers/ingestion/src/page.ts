// One markets page up to its commit: taken (fetched with its evidence, or as fetched ahead), decoded, its stored
// states (and on Kalshi its events) read in one D1 round trip, gated (page-plan.ts, pure); the next page fetched
// ahead while this one is planned and committed in one D1 batch (page-commit.ts).
import type { MarketVenue } from "@paulp/contracts";
import {
  type KalshiEventInfo,
  type KalshiParsedPage,
  kalshiRows,
  type MarketPage,
} from "@paulp/venue-decode";
import type { FetchOutcome } from "./client";
import type { ComplianceAgent } from "./compliance";
import type { PipelineDeps, Tally } from "./deps";
import { kalshiEventInfo, storedEventsStatement } from "./kalshi-series";
import { renewLeaseStatement } from "./lease";
import { commitPage, type GatedMarketPage, type PageResult } from "./page-commit";
import { decodePage, gateRows } from "./page-plan";
import { type StoredState, storedStatesFrom, storedStatesStatement } from "./store";
import {
  type DeferredRecord,
  fetchVenue,
  type ReadToken,
  recordFetchFailure,
  recordParseFailure,
  takeReadToken,
} from "./venue-reads";

/** A page fetched, stored as evidence, parsed and gated, ready to commit; or why not. */
export type Prepared =
  /** `resetCursor`: the venue refused the cursor (or stopped advancing it), so the next run starts a new pass. */
  | { ok: false; rejected: number; resetCursor?: boolean }
  | { ok: true; next: string | null; commit: () => Promise<PageResult> };

/** What every page of a run shares. */
export interface RunContext {
  /** The run's lease on the venue, renewed with every page's reads: a page read after losing it is not committed. */
  leaseOwner: string;
  agent: ComplianceAgent;
  rulesVersion: number;
  alreadyBlocked: Set<string>;
  /** A stored mark observed longer ago than this is sent again (from this snapshot) even when unchanged. */
  markRefreshMs: number;
  /**
   * Kalshi events this run has read whose series is known (an event never changes series; the series are synced
   * when a pass starts): not read again for each page. One with an unknown series is not kept, so each page still
   * looks its series up as before.
   */
  events: Map<string, KalshiEventInfo>;
  /** The markets listed by the page whose commit started last (it may still run while the next page is read). */
  committing: ReadonlySet<string>;
  /**
   * The URL of the page after this one, given its cursor; null when the run takes no page after this one (its last
   * page, or a lookup). Set by the run before each page.
   */
  urlAfter: ((next: string) => string) | null;
  /** The page after this one, fetched (with its evidence) while this one is stored; the next preparePage takes it. */
  ahead: PageAhead | null;
}

/** A page fetched ahead: its venue and URL, the D1 record of its evidence (deferred) and the fetch. */
export interface PageAhead {
  venue: MarketVenue;
  url: string;
  record: DeferredRecord;
  fetched: Promise<Fetched>;
}

/** A fetch's outcome and when it was in (the snapshot's time: its marks were observed then, not when taken up). */
interface Fetched {
  outcome: FetchOutcome;
  answeredAt: number;
}

/**
 * Phase one of a page, while the page before it commits: fetched (or taken as fetched ahead) with its evidence,
 * decoded, read with the run's lease renewed (one D1 round trip), on Kalshi its rows built through their events,
 * the next page's fetch started, and its rows gated; the commit (page-commit.ts) is the caller's to start.
 */
export async function preparePage(
  deps: PipelineDeps,
  run: RunContext,
  venue: MarketVenue,
  /** The page's URL, and the cursor it was asked from (null for a first page or a lookup by ticker). */
  url: string,
  cursor: string | null,
  tally: Tally,
): Promise<Prepared> {
  const { agent, rulesVersion, alreadyBlocked } = run;
  const fail = (rejected: number, resetCursor = false): Prepared => ({ ok: false, rejected, resetCursor });
  const { record, outcome, answeredAt } = await takePage(deps, run, venue, url, tally);
  if (!outcome.ok) {
    const rejected = await recordFetchFailure(deps, tally, venue, url, outcome);
    // A cursor the venue refuses (expired, or written by an older client) would fail every run from here on.
    const cursorRefused =
      cursor !== null && outcome.kind === "http_error" && (outcome.status === 400 || outcome.status === 422);
    return fail(rejected, cursorRefused);
  }
  const { evidenceHash, response } = outcome;
  const fetchedAt = new Date(answeredAt).toISOString();
  const parsed = decodePage(venue, response.bytes, cursor);
  if (!parsed.ok) {
    await recordParseFailure(
      deps,
      tally,
      venue,
      url,
      response.status,
      evidenceHash,
      parsed,
      record.statements,
    );
    return fail(1, parsed.stuck);
  }
  // The next page's read token is asked for now, while this page's reads go; the page itself is fetched after them.
  const nextToken = parsed.value.next !== null && run.urlAfter !== null ? takeReadToken(deps, venue) : null;
  const kalshi = venue === "kalshi" ? (parsed.value as KalshiParsedPage) : null;
  const listed = kalshi
    ? kalshi.markets.map((m) => m.ticker)
    : (parsed.value as MarketPage).rows.map((r) => r.marketId);
  const newEvents = kalshi
    ? [...new Set(kalshi.markets.map((m) => m.event_ticker))].filter((t) => !run.events.has(t))
    : [];
  const read = await readPage(deps, run, venue, url, outcome, record, listed, newEvents, tally);
  if (read === null) return fail(0);
  const { stored, storedEvents } = read;
  const page = kalshi
    ? await kalshiPage(deps, run, kalshi, newEvents, storedEvents, tally)
    : (parsed.value as MarketPage);
  // The lease renewed and this page's reads (events included) done, the next page is fetched now (its bytes kept as
  // evidence before anything parses them, as every page's) while this one's rows are gated and planned and its
  // commit runs: the next request no longer waits for that work. The venue sees the same requests in the same order.
  if (nextToken !== null && page.next !== null && run.urlAfter !== null)
    run.ahead = fetchAhead(deps, venue, run.urlAfter(page.next), nextToken);
  const gated = gateRows(page.rows, agent, alreadyBlocked, { venue, rulesVersion, evidenceHash });
  const toCommit: GatedMarketPage = { ...gated, url, cursor, evidenceHash, fetchedAt, page, listed, stored };
  return { ok: true, next: page.next, commit: () => commitPage(deps, run, venue, toCommit, tally) };
}

/**
 * The page's fetch: the one fetched ahead while the page before it was stored, when it is this page (one for another
 * URL is dropped), else fetched now. The evidence's D1 record is deferred: it rides in the page's read batch (one
 * round trip fewer), and nothing the page yields is written before that batch, so nothing is stored without its
 * evidence recorded.
 */
async function takePage(
  deps: PipelineDeps,
  run: RunContext,
  venue: MarketVenue,
  url: string,
  tally: Tally,
): Promise<Fetched & { record: DeferredRecord }> {
  let ahead = run.ahead;
  run.ahead = null;
  if (ahead !== null && ahead.url !== url) {
    await dropAhead(deps, tally, ahead);
    ahead = null;
  }
  const record: DeferredRecord = ahead?.record ?? { statements: [] };
  const { outcome, answeredAt } = await (ahead?.fetched ??
    fetchVenue(deps, venue, url, record).then((o): Fetched => ({ outcome: o, answeredAt: deps.now() })));
  return { record, outcome, answeredAt };
}

/**
 * One D1 round trip for the page: the evidence's record, the run's lease renewed (a run slower than the lease loses
 * the venue to the next run rather than interleaving with it: both committing the same pages, one cursor write
 * lost), the stored state of its markets (only what changed is written) and, on Kalshi, the events this run has not
 * met yet. The evidence is recorded even when the lease was lost (the batch commits; only the page stops). Null when
 * the page stops: the lease lost, or the batch failed.
 */
async function readPage(
  deps: PipelineDeps,
  run: RunContext,
  venue: MarketVenue,
  url: string,
  outcome: Extract<FetchOutcome, { ok: true }>,
  record: DeferredRecord,
  listed: string[],
  newEvents: string[],
  tally: Tally,
): Promise<{ stored: Map<string, StoredState>; storedEvents: D1Result | undefined } | null> {
  try {
    const results = await deps.db.batch([
      ...record.statements,
      renewLeaseStatement(deps, venue, run.leaseOwner),
      storedStatesStatement(deps.db, venue, listed),
      ...(newEvents.length > 0 ? [storedEventsStatement(deps.db, newEvents)] : []),
    ]);
    const [renewed, states, events] = results.slice(record.statements.length);
    if (renewed!.meta.changes !== 1) {
      tally.add("lease_lost");
      return null;
    }
    return { stored: storedStatesFrom(states!), storedEvents: events };
  } catch (error) {
    // The batch is atomic: the evidence's record did not land either, so the page is an evidence failure.
    const detail = String((error as Error)?.message).slice(0, 300);
    await recordFetchFailure(deps, tally, venue, url, {
      ok: false,
      kind: "evidence_write",
      status: outcome.response.status,
      detail,
      attempts: outcome.attempts,
    });
    return null;
  }
}

/**
 * A Kalshi page as rows, market by market: one that does not fit is named and skipped, the rest of the page goes on.
 * Each market's series (and so its category) comes through its event: the events this run has not met are taken
 * from the page's read batch, those not stored yet fetched (kalshiEventInfo), and kept for the run's later pages
 * once their series is known.
 */
async function kalshiPage(
  deps: PipelineDeps,
  run: RunContext,
  kalshi: KalshiParsedPage,
  newEvents: string[],
  storedEvents: D1Result | undefined,
  tally: Tally,
): Promise<MarketPage> {
  const fresh =
    newEvents.length > 0
      ? await kalshiEventInfo(deps, tally, newEvents, storedEvents)
      : new Map<string, KalshiEventInfo>();
  for (const [ticker, info] of fresh) if (info.category !== null) run.events.set(ticker, info);
  const built = kalshiRows(kalshi.markets, { get: (t) => run.events.get(t) ?? fresh.get(t) });
  return { rows: built.rows, next: kalshi.next, skips: [...kalshi.skips, ...built.skips] };
}

function fetchAhead(deps: PipelineDeps, venue: MarketVenue, url: string, token: ReadToken): PageAhead {
  const record: DeferredRecord = { statements: [] };
  // Held until the next page takes it: a throw becomes a network failure, never an unhandled rejection.
  const fetched = fetchVenue(deps, venue, url, record, token).then(
    (outcome): Fetched => ({ outcome, answeredAt: deps.now() }),
    (error: unknown): Fetched => ({
      outcome: {
        ok: false,
        kind: "network",
        detail: String((error as Error)?.message).slice(0, 300),
        attempts: 1,
      },
      answeredAt: deps.now(),
    }),
  );
  return { venue, url, record, fetched };
}

/**
 * A page fetched ahead that the run does not take (it stopped first): its evidence is recorded like any fetch's (left
 * `pending`: kept, not parsed), or its failure recorded; nothing of it is parsed or stored.
 */
export async function dropAhead(deps: PipelineDeps, tally: Tally, ahead: PageAhead): Promise<void> {
  const { outcome } = await ahead.fetched;
  if (!outcome.ok) {
    await recordFetchFailure(deps, tally, ahead.venue, ahead.url, outcome);
    return;
  }
  if (ahead.record.statements.length === 0) return;
  await deps.db.batch(ahead.record.statements).catch((error: unknown) => {
    tally.add("evidence_write");
    console.warn(`ingestion: evidence record of a page fetched ahead failed: ${(error as Error)?.message}`);
  });
}
