// A venue run (runVenue, under its lease) as its steps: openRun (the starting reads) and crawlOf, the walk of its
// pages (walk.ts), the sweep (sweep.ts) and prunePass of a complete pass, reportOf, then saveRun (run-record.ts);
// and a full ingestion run (runIngestion: each venue, the breaker's reports, pair proposals after a completed pass).
import type { MarketVenue, VenueRunReport } from "@paulp/contracts";
import { randomId, withTimeout } from "@paulp/kit";
import { gammaMarketsUrl, kalshiMarketsUrl, kalshiUpdatedMarketsUrl } from "@paulp/venue-decode";
import { ComplianceAgent, loadRules } from "./compliance";
import { audit, callPeer, type PipelineDeps, Tally } from "./deps";
import { DEFAULT_FETCH_LOG_RETENTION_DAYS, pruneFetchLogStatement } from "./fetch-log";
import { syncKalshiSeries } from "./kalshi-series";
import { claimLease, recordCrashedRun, releaseLease } from "./lease";
import type { RunContext } from "./page";
import { proposePairs } from "./pairs";
import { readRunState, type StateRow, saveRun } from "./run-record";
import { pruneSnapshotsStatements, runBatches } from "./store";
import { sweepNotListed } from "./sweep";
import { type Crawl, dropPageAhead, startWalk, type Walk, walkPages } from "./walk";

/**
 * Page sizes asked for. Gamma's keyset endpoint clamps `limit` silently to a cap it does not publish (a page then
 * comes back shorter, with a `next_cursor`): asking for more than it serves costs nothing, and only the absence of
 * `next_cursor` ends a pass.
 */
export const DEFAULT_PAGE_SIZE: Record<MarketVenue, number> = { kalshi: 1000, polymarket: 500 };
/** The most we ask for in one page (Kalshi `limit` ≤ 1000; gamma 500): a larger ask is clamped here. */
export const MAX_PAGE_SIZE: Record<MarketVenue, number> = { kalshi: 1000, polymarket: 500 };

/** Consecutive failed runs of a venue before the risk breaker hears about it. */
export const FAILURES_BEFORE_REPORT = 2;

/**
 * Ingest up to `maxPages` pages of one venue, continuing from the stored cursor, under the venue's run
 * lease: a cron run and a manual run never interleave the cursor. Without the lease: outcome `busy`,
 * nothing fetched or written.
 */
export async function runVenue(
  deps: PipelineDeps,
  venue: MarketVenue,
  opts: { maxPages: number; pageSize?: number },
): Promise<{ report: VenueRunReport; consecutiveFailures: number }> {
  const owner = randomId(12);
  const now = deps.now();
  if (!(await claimLease(deps, venue, owner, now))) {
    const at = new Date(now).toISOString();
    const report: VenueRunReport = {
      venue,
      startedAt: at,
      finishedAt: at,
      outcome: "busy",
      pages: 0,
      fetched: 0,
      stored: 0,
      rejected: 0,
      blocked: 0,
      errors: {},
      passCompleted: false,
    };
    return { report, consecutiveFailures: 0 };
  }
  try {
    return await runVenueLeased(deps, venue, opts, owner);
  } catch (error) {
    return await recordCrashedRun(deps, venue, owner, now, error);
  } finally {
    await releaseLease(deps, venue, owner);
  }
}

/**
 * The run under its lease: the starting reads; unless the gate is down, the walk of the pages (a new Kalshi pass
 * first syncs the series); a page fetched ahead dropped; a complete pass swept and pruned; the report; where the run
 * leaves the venue saved while it holds the lease, and the run recorded.
 */
async function runVenueLeased(
  deps: PipelineDeps,
  venue: MarketVenue,
  opts: { maxPages: number; pageSize?: number },
  leaseOwner: string,
): Promise<{ report: VenueRunReport; consecutiveFailures: number }> {
  const tally = new Tally();
  const startedAt = new Date(deps.now()).toISOString();
  const { state, run } = await openRun(deps, venue, leaseOwner);
  const crawl = crawlOf(deps, venue, state, opts.pageSize);
  const walk = startWalk(state);
  if (await gateDown(deps, venue, run, tally)) walk.failed = true;
  else {
    // A new Kalshi pass, and each incremental crawl between passes (no full-pass cursor either), starts by bringing
    // the series up to date: a market of a new series needs its category.
    if (venue === "kalshi" && walk.cursor === null) await syncKalshiSeries(deps, tally);
    await walkPages(deps, venue, run, crawl, opts.maxPages, walk, tally);
  }
  await dropPageAhead(deps, run, tally);
  // The pass this run completed began when this run did (it started from no cursor) or when the run that did.
  const passStartedAt = state?.cursor ? state.pass_started_at : startedAt;
  if (walk.passCompleted && passStartedAt) {
    if (!(await sweepNotListed(deps, venue, run, tally, passStartedAt))) walk.failed = true;
    await prunePass(deps, venue, passStartedAt, tally);
  }
  // A run whose blocks or denials could not be audited did not do all it must: not "ok" (and risk does not
  // hear that ingestion is healthy).
  if (tally.errors.audit_failed) walk.failed = true;
  const report = reportOf(deps, venue, startedAt, walk, crawl, tally);
  const consecutiveFailures = report.outcome === "failed" ? (state?.consecutive_failures ?? 0) + 1 : 0;
  await saveRun(
    deps,
    leaseOwner,
    report,
    {
      cursor: walk.cursor,
      passesCompleted: (state?.passes_completed ?? 0) + (walk.passCompleted ? 1 : 0),
      consecutiveFailures,
      metadataSince: nextMetadataSince(venue, walk, state, startedAt, passStartedAt),
    },
    tally,
  );
  return { report, consecutiveFailures };
}

/**
 * The run's starting reads, together (one wait, not three): where the pass stands, the rules (then what they already
 * blocked) and risk's freshness limit; with them, what every page of the run shares.
 */
async function openRun(
  deps: PipelineDeps,
  venue: MarketVenue,
  leaseOwner: string,
): Promise<{ state: StateRow | null; run: RunContext }> {
  const agent = deps.agent ?? new ComplianceAgent();
  let rulesVersion = -1;
  const [state, alreadyBlocked, refreshMs] = await Promise.all([
    readRunState(deps, venue),
    agent
      .prepare(async () => {
        const view = await loadRules(deps.db);
        rulesVersion = view.version;
        return view.rules;
      })
      .then(async () => {
        const blocked = new Set<string>();
        if (rulesVersion < 0) return blocked;
        const rows = await deps.db
          .prepare("SELECT market_id, rule_id FROM compliance_blocks WHERE venue = ?1 AND rules_version = ?2")
          .bind(venue, rulesVersion)
          .all<{ market_id: string; rule_id: string }>();
        for (const r of rows.results) blocked.add(`${r.market_id}|${r.rule_id}`);
        return blocked;
      }),
    markRefreshMs(deps),
  ]);
  const run: RunContext = {
    leaseOwner,
    agent,
    rulesVersion,
    alreadyBlocked,
    markRefreshMs: refreshMs,
    events: new Map(),
    committing: new Set(),
    urlAfter: null,
    ahead: null,
  };
  return { state, run };
}

/**
 * Between full passes (the periodic check), Kalshi is asked only for the markets whose metadata changed; a pass
 * under way, or one due, is crawled in full. The page size asked for is clamped to what the venue serves.
 */
function crawlOf(deps: PipelineDeps, venue: MarketVenue, state: StateRow | null, askedSize?: number): Crawl {
  const pageSize = Math.min(askedSize ?? DEFAULT_PAGE_SIZE[venue], MAX_PAGE_SIZE[venue]);
  const incremental =
    venue === "kalshi" &&
    (state?.cursor ?? null) === null &&
    !kalshiFullPassDue(state, deps.now(), deps.fullPassEveryMs ?? KALSHI_FULL_PASS_EVERY_MS);
  const since = incremental ? state!.metadata_since! : null;
  const urlOf = (pageCursor: string | null) =>
    incremental
      ? kalshiUpdatedMarketsUrl(since!, pageCursor, pageSize)
      : venue === "kalshi"
        ? kalshiMarketsUrl(pageCursor, pageSize)
        : gammaMarketsUrl(pageCursor, pageSize);
  return { incremental, urlOf };
}

/**
 * No gate, no ingestion: a run whose rules did not load fetches nothing, keeps its cursor, and counts as a failed
 * run (the breaker hears of repeated ones), instead of "succeeding" while denying every market. Audited; answers
 * whether the gate is down.
 */
async function gateDown(
  deps: PipelineDeps,
  venue: MarketVenue,
  run: RunContext,
  tally: Tally,
): Promise<boolean> {
  const down = run.agent.unavailable;
  if (!down) return false;
  tally.add("compliance_unavailable");
  await audit(deps, tally, "ingestion.compliance_unavailable", { venue, detail: down.slice(0, 300) });
  return true;
}

/**
 * After a complete pass (and its sweep of the markets it did not list), sightings older than the pass are folded into
 * the rows that left the venue's answer, then dropped, and with them the fetch log's fetches older than its retention
 * (every venue's: one log). A failed prune is counted, not a failed run.
 */
async function prunePass(
  deps: PipelineDeps,
  venue: MarketVenue,
  passStartedAt: string,
  tally: Tally,
): Promise<void> {
  const logBefore = new Date(
    deps.now() - (deps.fetchLogRetentionMs ?? DEFAULT_FETCH_LOG_RETENTION_DAYS * 86_400_000),
  ).toISOString();
  await runBatches(deps.db, [
    ...pruneSnapshotsStatements(deps.db, venue, passStartedAt),
    pruneFetchLogStatement(deps.db, logBefore),
  ]).catch((error) => {
    tally.add("d1_error");
    console.warn(`ingestion ${venue}: snapshot prune failed: ${(error as Error)?.message}`);
  });
}

/** The run's report, finished now: `ok`, `partial` when it failed after committing a page, else `failed`. */
function reportOf(
  deps: PipelineDeps,
  venue: MarketVenue,
  startedAt: string,
  walk: Walk,
  crawl: Crawl,
  tally: Tally,
): VenueRunReport {
  return {
    venue,
    startedAt,
    finishedAt: new Date(deps.now()).toISOString(),
    outcome: !walk.failed ? "ok" : walk.pages > 0 ? "partial" : "failed",
    pages: walk.pages,
    fetched: walk.fetched,
    stored: walk.stored,
    rejected: walk.rejected,
    blocked: walk.blocked,
    errors: tally.errors,
    passCompleted: walk.passCompleted,
    changed: walk.changed,
    marksSent: walk.marksSent,
    mode: crawl.incremental ? "incremental" : "full",
  };
}

/**
 * Where the next incremental crawl asks from: a little before what this run covered, the start of a complete full
 * pass (every page after it) or of a complete incremental crawl; a crawl that did not finish asks again.
 */
function nextMetadataSince(
  venue: MarketVenue,
  walk: Walk,
  state: StateRow | null,
  startedAt: string,
  passStartedAt: string | null,
): number | null {
  if (venue !== "kalshi") return null;
  if (walk.passCompleted && passStartedAt)
    return Math.floor(Date.parse(passStartedAt) / 1000) - METADATA_SKEW_S;
  if (walk.incrementalDone && !walk.failed) return Math.floor(Date.parse(startedAt) / 1000) - METADATA_SKEW_S;
  return state?.metadata_since ?? null;
}

/** How often a full Kalshi pass (the periodic check) starts; between them, runs crawl `min_updated_ts`. */
export const KALSHI_FULL_PASS_EVERY_MS = 30 * 60_000;
/** Seconds subtracted from each `min_updated_ts`, for clock skew between Kalshi and us. */
export const METADATA_SKEW_S = 60;

/** Whether the next Kalshi run starts a full pass (none yet, no incremental starting point, or the last is old). */
export function kalshiFullPassDue(
  state: Pick<StateRow, "pass_started_at" | "metadata_since" | "passes_completed"> | null,
  now: number,
  everyMs: number,
): boolean {
  if (!state?.pass_started_at || state.metadata_since === null || state.passes_completed === 0) return true;
  return now - Date.parse(state.pass_started_at) >= everyMs;
}

/**
 * Marks observed longer ago than half risk's freshness limit (read from risk at the start of each run) are sent
 * again; when risk cannot say, every mark is sent. Without a risk binding nothing is sent; the default is risk's own.
 */
export const DEFAULT_MARK_MAX_AGE_S = 120;
async function markRefreshMs(deps: PipelineDeps): Promise<number> {
  let limit = DEFAULT_MARK_MAX_AGE_S;
  if (deps.risk) {
    limit = 0;
    try {
      const r = (await withTimeout(deps.risk.getLimits(), deps.peerTimeoutMs ?? 5_000, "risk.getLimits")) as {
        ok: boolean;
        value?: { limits?: { maxMarkAgeSeconds?: number } };
      };
      const s = r.ok ? r.value?.limits?.maxMarkAgeSeconds : undefined;
      if (typeof s === "number" && s > 0) limit = s;
    } catch {
      // Unknown: every mark is sent (0), so none can age past a limit we could not read.
    }
  }
  return (limit * 1000) / 2;
}

/**
 * A full run: each venue in turn, breaker reports, and pair candidates after a completed pass. `maxPages` is one
 * number for every venue or one per venue.
 */
export async function runIngestion(
  deps: PipelineDeps,
  opts: { venues: MarketVenue[]; maxPages: number | Record<MarketVenue, number>; pageSize?: number },
): Promise<VenueRunReport[]> {
  const reports: VenueRunReport[] = [];
  for (const venue of opts.venues) {
    const maxPages = typeof opts.maxPages === "number" ? opts.maxPages : opts.maxPages[venue];
    const { report, consecutiveFailures } = await runVenue(deps, venue, {
      maxPages,
      pageSize: opts.pageSize,
    });
    reports.push(report);
    if (consecutiveFailures >= FAILURES_BEFORE_REPORT) {
      const detail = `${venue}: ${consecutiveFailures} consecutive failed runs (${Object.entries(
        report.errors,
      )
        .map(([k, n]) => `${k}=${n}`)
        .join(", ")})`;
      await callPeer(
        deps,
        "risk.reportFailure",
        () => deps.risk!.reportFailure("venue_api_error", detail, deps.actor),
        !!deps.risk,
      );
    }
  }
  if (reports.every((r) => r.outcome === "ok")) {
    await callPeer(
      deps,
      "risk.reportSuccess",
      () => deps.risk!.reportSuccess("venue_api_error"),
      !!deps.risk,
    );
  }
  if (reports.some((r) => r.passCompleted)) {
    // Pairing reads every active market: it runs after the answer when the caller can wait for it.
    const proposing = proposePairs(deps).catch((error) =>
      console.warn(`ingestion: pair proposal failed: ${(error as Error)?.message}`),
    );
    if (deps.defer) deps.defer(proposing);
    else await proposing;
  }
  return reports;
}
