// One markets page from fetch to commit: fetched with its evidence, decoded, its stored states (and on Kalshi its
// events) read in one D1 round trip, gated and planned (page-plan.ts, pure), then committed in one D1 batch while
// the next page is fetched.
import type { MarketVenue } from "@paulp/contracts";
import {
  type KalshiEventInfo,
  type KalshiParsedPage,
  kalshiRows,
  type MarketPage,
  type StoredMarketRow,
} from "@paulp/venue-decode";
import type { FetchOutcome } from "./client";
import type { ComplianceAgent } from "./compliance";
import { audit, type PipelineDeps, type Tally } from "./deps";
import { markEvidence } from "./evidence";
import { kalshiEventInfo, storedEventsStatement } from "./kalshi-series";
import { renewLeaseStatement } from "./lease";
import { decodePage, gateRows, planWrites } from "./page-plan";
import {
  deleteMarketsStatements,
  recordBlocksStatement,
  recordSnapshotStatement,
  refreshMarkStatements,
  rulesVersionStatement,
  runBatches,
  type StoredState,
  storedStates,
  storedStatesFrom,
  storedStatesStatement,
  upsertMarketStatements,
} from "./store";
import {
  auditMany,
  auditSkips,
  type DeferredRecord,
  fetchVenue,
  pushMarks,
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

/** What one page did. */
export interface PageResult {
  ok: boolean;
  next: string | null;
  fetched: number;
  stored: number;
  blocked: number;
  rejected: number;
  /** Every market the page listed that the gate allowed (written or seen unchanged). */
  storedRows: StoredMarketRow[];
  /** Rows rewritten (content changed) and marks sent to risk. */
  changed: number;
  marksSent: number;
}

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
  // The page may have been fetched already, while the one before it was stored (see below). The evidence's D1 record
  // rides in the page's read batch below (one round trip fewer); nothing the page yields is written before that
  // batch, so nothing is stored without its evidence recorded.
  let ahead = run.ahead;
  run.ahead = null;
  if (ahead !== null && ahead.url !== url) {
    await dropAhead(deps, tally, ahead);
    ahead = null;
  }
  const record: DeferredRecord = ahead?.record ?? { statements: [] };
  const { outcome, answeredAt } = await (ahead?.fetched ??
    fetchVenue(deps, venue, url, record).then((o): Fetched => ({ outcome: o, answeredAt: deps.now() })));
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
  // One D1 round trip for the page: the evidence's record, the run's lease renewed (a run slower than the lease
  // loses the venue to the next run rather than interleaving with it: both committing the same pages, one cursor
  // write lost), the stored state of its markets (only what changed is written) and, on Kalshi, the events this run
  // has not met yet. The evidence is recorded even when the lease was lost (the batch commits; only the page stops).
  let stored: Map<string, StoredState>;
  let storedEvents: D1Result | undefined;
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
      return fail(0);
    }
    stored = storedStatesFrom(states!);
    storedEvents = events;
  } catch (error) {
    // The batch is atomic: the evidence's record did not land either, so the page is an evidence failure.
    const detail = String((error as Error)?.message).slice(0, 300);
    await recordFetchFailure(deps, tally, venue, url, {
      ok: false,
      kind: "evidence_write",
      status: response.status,
      detail,
      attempts: outcome.attempts,
    });
    return fail(0);
  }
  let page: MarketPage;
  if (kalshi) {
    // Market by market: one that does not fit is named and skipped, the rest of the page goes on. Each market's
    // series (and so its category) comes through its event.
    const fresh =
      newEvents.length > 0
        ? await kalshiEventInfo(deps, tally, newEvents, storedEvents)
        : new Map<string, KalshiEventInfo>();
    for (const [ticker, info] of fresh) if (info.category !== null) run.events.set(ticker, info);
    const built = kalshiRows(kalshi.markets, { get: (t) => run.events.get(t) ?? fresh.get(t) });
    page = { rows: built.rows, next: kalshi.next, skips: [...kalshi.skips, ...built.skips] };
  } else page = parsed.value as MarketPage;
  // The lease renewed and this page's reads (events included) done, the next page is fetched now (its bytes kept as
  // evidence before anything parses them, as every page's) while this one's rows are gated and planned and its
  // commit runs: the next request no longer waits for that work. The venue sees the same requests in the same order.
  if (nextToken !== null && page.next !== null && run.urlAfter !== null)
    run.ahead = fetchAhead(deps, venue, run.urlAfter(page.next), nextToken);
  const { passed, blockedIds, blockedEvents, denied } = gateRows(page.rows, agent, alreadyBlocked, {
    venue,
    rulesVersion,
    evidenceHash,
  });
  // Phase two runs while the next page is fetched: D1 reads and writes, audits and marks overlap the next request.
  const commit = async (): Promise<PageResult> => {
    const failed = (): PageResult => ({
      ok: false,
      rejected: 0,
      next: cursor,
      fetched: 0,
      stored: 0,
      blocked: 0,
      storedRows: [],
      changed: 0,
      marksSent: 0,
    });
    // Only what changed is written (planWrites), against the stored states read with the page. Those were read
    // while the previous page's commit could still run: a market that page listed too is read again, after it.
    const previous = run.committing;
    run.committing = new Set(listed);
    const again = passed.filter((r) => previous.has(r.marketId)).map((r) => r.marketId);
    if (again.length > 0) {
      try {
        const now = await storedStates(deps.db, venue, again);
        for (const id of again) {
          const state = now.get(id);
          if (state) stored.set(id, state);
          else stored.delete(id);
        }
      } catch (error) {
        tally.add("d1_error");
        console.warn(`ingestion: stored state read failed: ${(error as Error)?.message}`);
        return failed();
      }
    }
    const refreshBefore = new Date(Date.parse(fetchedAt) - run.markRefreshMs).toISOString();
    const plan = planWrites(passed, stored, { evidenceHash, fetchedAt, refreshBefore });
    const { allowed, changed, keys, marks, markRows } = plan;
    denied.push(...plan.denied);
    // A changed row is written with its mark; an unchanged one whose mark is due gets only its mark.
    const statements = upsertMarketStatements(
      deps.db,
      { venue, evidenceHash, fetchedAt },
      changed,
      keys,
      marks,
      rulesVersion,
    );
    statements.push(
      ...refreshMarkStatements(
        deps.db,
        venue,
        markRows.filter((r) => !keys.has(r.marketId)),
        marks,
        rulesVersion,
      ),
    );
    // Every listed row, changed or not, is recorded as seen in this snapshot: one row for the page.
    if (allowed.length > 0)
      statements.push(
        recordSnapshotStatement(
          deps.db,
          venue,
          evidenceHash,
          fetchedAt,
          allowed.map((r) => r.marketId),
          rulesVersion,
        ),
      );
    // A market blocked now leaves the store even if an earlier rule set let it in.
    statements.push(...deleteMarketsStatements(deps.db, venue, blockedIds));
    statements.push(markEvidence(deps.db, evidenceHash, "accepted", null));
    // Last, in the same transaction as the writes: the rules version they were checked against.
    statements.push(rulesVersionStatement(deps.db));
    let current: number | undefined;
    try {
      current = ((await runBatches(deps.db, statements)).at(-1)?.results[0] as { v?: number } | undefined)?.v;
    } catch (error) {
      tally.add("d1_error");
      await audit(deps, tally, "ingestion.store_failed", {
        venue,
        url,
        evidenceHash,
        detail: String((error as Error)?.message).slice(0, 300),
      });
      return failed();
    }
    // The rules were replaced while this run went: its inserts wrote nothing (each checks the version it was
    // gated under), so nothing goes to risk either. The run stops here and the next one, under the new rules,
    // takes this page again.
    if (current !== rulesVersion) {
      tally.add("rules_changed");
      return failed();
    }
    if (blockedEvents.length > 0) {
      const r = await auditMany(deps, blockedEvents);
      if (r) {
        await recordBlocksStatement(
          deps.db,
          venue,
          blockedEvents.map((e) => [e.marketId as string, (e.rule as { id: string }).id]),
          rulesVersion,
          evidenceHash,
          fetchedAt,
        )
          .run()
          .catch(() => tally.add("d1_error"));
        for (const e of blockedEvents) alreadyBlocked.add(`${e.marketId}|${(e.rule as { id: string }).id}`);
      } else {
        tally.add("audit_failed");
      }
    }
    if (page.skips.length > 0) await auditSkips(deps, tally, venue, url, evidenceHash, page.skips);
    if (denied.length > 0) {
      tally.add("gate_denied", denied.length);
      await audit(deps, tally, "compliance.denied", {
        venue,
        evidenceHash,
        count: denied.length,
        reason: denied[0]!.reason.slice(0, 300),
        marketIds: denied.slice(0, 50).map((d) => d.marketId),
      });
    }
    await pushMarks(deps, tally, markRows, marks);
    return {
      ok: true,
      next: page.next,
      fetched: page.rows.length + page.skips.length,
      stored: allowed.length,
      blocked: blockedIds.length,
      rejected: denied.length,
      storedRows: allowed,
      changed: changed.length,
      marksSent: markRows.length,
    };
  };
  return { ok: true, next: page.next, commit };
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
