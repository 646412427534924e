import type {
  AuditEvent,
  AuditEventType,
  AuditPayload,
  AuditService,
  GovernanceService,
  MarketVenue,
  MarkUpdate,
  Principal,
  Result,
  RiskService,
  VenueRunReport,
} from "@paulp/contracts";
import { kalshiEndpoint } from "@paulp/kalshi-spec";
import { auditAppend, type EgressFetch, type KalshiSigner, randomId, rpc, withTimeout } from "@paulp/kit";
import type * as v from "valibot";
import {
  type ClientOptions,
  type FetchOutcome,
  fetchWithEvidence,
  type ReadBucket,
  TokenBucket,
} from "./client";
import { ComplianceAgent, gateWithCurrentRules, loadRules } from "./compliance";
import { markEvidence, storeEvidence } from "./evidence";
import { kalshiEventInfo, syncKalshiSeries } from "./kalshi-series";
import { matchCandidates } from "./matching";
import { decodePage, gateRows, planWrites } from "./page-plan";
import {
  deleteMarketsStatements,
  pruneSnapshotsStatements,
  recordBlocksStatement,
  recordSnapshotStatement,
  runBatches,
  type StoredState,
  storedStates,
  upsertMarketStatements,
  upsertMarkStatements,
} from "./store";
import { termsHash, termsHashSync, termsOf } from "./terms";
import {
  type KalshiParsedPage,
  kalshiMarketsByTickerUrl,
  kalshiMarketsUrl,
  kalshiRows,
  kalshiUpdatedMarketsUrl,
} from "./venues/kalshi";
import { type FastGuard, parseBody } from "./venues/parse";
import {
  GAMMA_LOOKUP_IDS,
  gammaLookupChunks,
  gammaMarketsByIdUrl,
  gammaMarketsUrl,
} from "./venues/polymarket";
import { type MarketPage, type MarketSkip, SKIPPED_BY_DESIGN, type StoredMarketRow } from "./venues/types";

/** Everything a run needs, passed in (bindings, clock, randomness) so the pipeline is testable as values. */
export interface PipelineDeps {
  db: D1Database;
  bucket: R2Bucket;
  audit: AuditService;
  risk?: RiskService | undefined;
  governance?: GovernanceService | undefined;
  fetch: EgressFetch;
  /** Where each venue's reads take their tokens (the shared `ReadBudget` in the worker; plain buckets in tests). */
  buckets: Map<MarketVenue, ReadBucket>;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  actor: Principal;
  agent?: ComplianceAgent;
  client?: Partial<Pick<ClientOptions, "maxAttempts" | "baseDelayMs" | "maxRetryAfterMs" | "maxBodyBytes">>;
  /** Runs follow-up work after the answer (ctx.waitUntil); absent → awaited inline. */
  defer?: (work: Promise<unknown>) => void;
  /** How long a call to risk or governance may take before it is logged as failed. */
  peerTimeoutMs?: number;
  /**
   * Ingestion's own read-only Kalshi key (KALSHI_READ_API_KEY / KALSHI_READ_PRIVATE_KEY), never execution's:
   * it signs the reads the spec marks authenticated (the order book). Absent: those reads go unsigned.
   */
  kalshiSigner?: KalshiSigner | null;
  /** How often a full Kalshi pass starts (KALSHI_FULL_PASS_EVERY_MS unless set; 0: every pass is full). */
  fullPassEveryMs?: number;
}

/** Per-venue client limits, under the venues' published read limits. */
export const VENUE_RATE: Record<MarketVenue, { capacity: number; refillPerSecond: number }> = {
  kalshi: { capacity: 10, refillPerSecond: 10 },
  polymarket: { capacity: 20, refillPerSecond: 20 },
};

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

/** A fresh bucket set for one isolate. */
export function venueBuckets(now: number): Map<MarketVenue, TokenBucket> {
  return new Map(
    (Object.keys(VENUE_RATE) as MarketVenue[]).map((v) => [
      v,
      new TokenBucket(VENUE_RATE[v].capacity, VENUE_RATE[v].refillPerSecond, now),
    ]),
  );
}

/** Error counts of one run, by kind. */
export class Tally {
  errors: Record<string, number> = {};
  add(kind: string, n = 1): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + n;
  }
}

export async function audit<T extends AuditEventType<"ingestion">>(
  deps: PipelineDeps,
  tally: Tally,
  type: T,
  payload: AuditPayload<"ingestion", T>,
): Promise<boolean> {
  const r = await auditAppend(deps.audit, { type, service: "ingestion", actor: deps.actor, payload });
  if (!r.ok) {
    tally.add("audit_failed");
    console.warn(`ingestion: audit ${type} failed: ${r.error.code}`);
  }
  return r.ok;
}

/** Fetch a URL for a venue with evidence capture; the evidence write happens before anything parses. */
export function fetchVenue(deps: PipelineDeps, venue: MarketVenue, url: string): Promise<FetchOutcome> {
  let bucket = deps.buckets.get(venue);
  if (!bucket) {
    bucket = new TokenBucket(VENUE_RATE[venue].capacity, VENUE_RATE[venue].refillPerSecond, deps.now());
    deps.buckets.set(venue, bucket);
  }
  const signer = deps.kalshiSigner;
  const signed = venue === "kalshi" && signer && kalshiEndpoint("GET", new URL(url).pathname)?.auth === true;
  return fetchWithEvidence(url, {
    fetch: deps.fetch,
    // Signed afresh for every attempt: the timestamp must be within seconds of Kalshi's clock.
    headers: signed
      ? () =>
          signer.headers("GET", url).catch((error: unknown) => {
            console.error(`ingestion: KALSHI_READ_PRIVATE_KEY unusable: ${(error as Error)?.message}`);
            return {};
          })
      : undefined,
    bucket,
    capture: (raw) =>
      storeEvidence({ bucket: deps.bucket, db: deps.db }, venue, raw, new Date(deps.now()).toISOString()),
    now: deps.now,
    sleep: deps.sleep,
    random: deps.random,
    ...deps.client,
  });
}

/** A page fetched, stored as evidence, parsed and gated, ready to commit; or why not. */
type Prepared =
  /** `resetCursor`: the venue refused the cursor (or stopped advancing it), so the next run starts a new pass. */
  | { ok: false; rejected: number; resetCursor?: boolean }
  | { ok: true; next: string | null; commit: () => Promise<PageResult> };

/** What one page did. */
interface PageResult {
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
  agent: ComplianceAgent;
  rulesVersion: number;
  alreadyBlocked: Set<string>;
  /** A stored mark observed longer ago than this is sent again (from this snapshot) even when unchanged. */
  markRefreshMs: number;
}

async function preparePage(
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
  const outcome = await fetchVenue(deps, venue, url);
  if (!outcome.ok) {
    const rejected = await recordFetchFailure(deps, tally, venue, url, outcome);
    // A cursor the venue refuses (expired, or written by an older client) would fail every run from here on.
    const cursorRefused =
      cursor !== null && outcome.kind === "http_error" && (outcome.status === 400 || outcome.status === 422);
    return fail(rejected, cursorRefused);
  }
  const { evidenceHash, response } = outcome;
  const fetchedAt = new Date(deps.now()).toISOString();
  const parsed = decodePage(venue, response.bytes, cursor);
  if (!parsed.ok) {
    await recordParseFailure(deps, tally, venue, url, response.status, evidenceHash, parsed);
    return fail(1, parsed.stuck);
  }
  let page: MarketPage;
  if (venue === "kalshi") {
    // Market by market: one that does not fit is named and skipped, the rest of the page goes on. Each market's
    // series (and so its category) comes through its event.
    const markets = parsed.value as KalshiParsedPage;
    const events = await kalshiEventInfo(
      deps,
      tally,
      markets.markets.map((m) => m.event_ticker),
    );
    const built = kalshiRows(markets.markets, events);
    page = { rows: built.rows, next: markets.next, skips: [...markets.skips, ...built.skips] };
  } else page = parsed.value as MarketPage;
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
    // Only what changed is written (planWrites): the stored states of the page's rows, in one read.
    let stored: Map<string, StoredState>;
    try {
      stored = await storedStates(
        deps.db,
        venue,
        passed.map((r) => r.marketId),
      );
    } catch (error) {
      tally.add("d1_error");
      console.warn(`ingestion: stored state read failed: ${(error as Error)?.message}`);
      return failed();
    }
    const refreshBefore = new Date(Date.parse(fetchedAt) - run.markRefreshMs).toISOString();
    const plan = await planWrites(passed, stored, { evidenceHash, fetchedAt, refreshBefore });
    const { allowed, changed, hashes, marks, markRows } = plan;
    denied.push(...plan.denied);
    const statements = upsertMarketStatements(deps.db, changed, hashes, rulesVersion);
    statements.push(...upsertMarkStatements(deps.db, markRows, marks, rulesVersion));
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
    try {
      await runBatches(deps.db, statements);
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
    const now = await deps.db
      .prepare("SELECT COALESCE((SELECT version FROM compliance_meta WHERE singleton = 1), 0) AS v")
      .first<{ v: number }>()
      .catch(() => null);
    if (now?.v !== rulesVersion) {
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

/** A fetch that ended without a usable body: counted, its evidence marked rejected, audited. Answers rejected count. */
export async function recordFetchFailure(
  deps: PipelineDeps,
  tally: Tally,
  venue: MarketVenue,
  url: string,
  outcome: Extract<FetchOutcome, { ok: false }>,
): Promise<number> {
  const kind =
    outcome.kind === "http_error" || outcome.kind === "server_error"
      ? `http_${outcome.status}`
      : outcome.kind;
  tally.add(kind);
  if (outcome.evidenceHash)
    await markEvidence(deps.db, outcome.evidenceHash, "rejected", kind)
      .run()
      .catch(() => tally.add("d1_error"));
  await audit(
    deps,
    tally,
    outcome.kind === "evidence_write" ? "ingestion.evidence_failed" : "ingestion.response_rejected",
    {
      venue,
      url,
      kind,
      status: outcome.status ?? null,
      evidenceHash: outcome.evidenceHash ?? null,
      attempts: outcome.attempts,
      detail: outcome.detail.slice(0, 300),
    },
  );
  return outcome.evidenceHash ? 1 : 0;
}

/** A body that is not JSON or fails its schema: kept as evidence, marked rejected, not used; counted and audited. */
export async function recordParseFailure(
  deps: PipelineDeps,
  tally: Tally,
  venue: MarketVenue,
  url: string,
  status: number,
  evidenceHash: string,
  parsed: { kind: string; detail: string },
): Promise<void> {
  tally.add(parsed.kind);
  await markEvidence(deps.db, evidenceHash, "rejected", `${parsed.kind}: ${parsed.detail}`)
    .run()
    .catch(() => tally.add("d1_error"));
  await audit(deps, tally, "ingestion.response_rejected", {
    venue,
    url,
    kind: parsed.kind,
    status,
    evidenceHash,
    detail: parsed.detail,
  });
}

/** Fetch, keep as evidence and validate one venue read; null (counted, audited) when it failed. */
export async function fetchParsed<S extends v.GenericSchema>(
  deps: PipelineDeps,
  tally: Tally,
  venue: MarketVenue,
  url: string,
  schema: S,
  fast?: FastGuard<S>,
): Promise<{ value: v.InferOutput<S>; evidenceHash: string } | null> {
  const outcome = await fetchVenue(deps, venue, url);
  if (!outcome.ok) {
    await recordFetchFailure(deps, tally, venue, url, outcome);
    return null;
  }
  const parsed = parseBody(schema, outcome.response.bytes, fast);
  if (!parsed.ok) {
    await recordParseFailure(deps, tally, venue, url, outcome.response.status, outcome.evidenceHash, parsed);
    return null;
  }
  return { value: parsed.value, evidenceHash: outcome.evidenceHash };
}

/**
 * Markets a page listed but we do not ingest, on either venue: one `ingestion.markets_skipped` event per page
 * (reasons counted, the first 50 named). Those we cannot represent (all but SKIPPED_BY_DESIGN) are also counted as
 * `market_unrepresentable`; none of them stops the page, its cursor or the pass.
 */
async function auditSkips(
  deps: PipelineDeps,
  tally: Tally,
  venue: MarketVenue,
  url: string,
  evidenceHash: string,
  skips: MarketSkip[],
): Promise<void> {
  const reasons: Record<string, number> = {};
  for (const s of skips) reasons[s.reason] = (reasons[s.reason] ?? 0) + 1;
  const unrepresentable = skips.filter((s) => !SKIPPED_BY_DESIGN.has(s.reason)).length;
  if (unrepresentable > 0) tally.add("market_unrepresentable", unrepresentable);
  await audit(deps, tally, "ingestion.markets_skipped", {
    venue,
    url,
    evidenceHash,
    count: skips.length,
    reasons,
    markets: skips
      .slice(0, 50)
      .map((s) => ({ id: s.id, reason: s.reason, detail: s.detail?.slice(0, 200) ?? null })),
  });
}

/** Audit each block as `compliance.blocked` (one event per entity, appended together). */
async function auditMany(
  deps: PipelineDeps,
  payloads: AuditPayload<"ingestion", "compliance.blocked">[],
): Promise<boolean> {
  try {
    const events = payloads.map(
      (payload): AuditEvent<"ingestion", "compliance.blocked"> => ({
        type: "compliance.blocked",
        service: "ingestion",
        actor: deps.actor,
        payload,
      }),
    );
    // The audit worker takes at most 500 events per append.
    for (let i = 0; i < events.length; i += 500) {
      const r = await withTimeout(
        deps.audit.appendMany(events.slice(i, i + 500)),
        10_000,
        "audit appendMany",
      );
      if ((r as { ok: boolean }).ok !== true) return false;
    }
    return true;
  } catch (error) {
    console.warn(`ingestion: compliance.blocked audit failed: ${(error as Error)?.message}`);
    return false;
  }
}

/** A stored best bid or ask as risk's `DecimalString`, or null. */
function bookSide(price: string | null): string | null {
  return price !== null && /^\d{1,12}(\.\d{1,4})?$/.test(price) ? price : null;
}

/** Push marks to the risk worker; its failure is logged and counted, never fatal to ingestion. */
async function pushMarks(
  deps: PipelineDeps,
  tally: Tally,
  rows: StoredMarketRow[],
  marks: Map<string, string>,
): Promise<void> {
  if (!deps.risk || marks.size === 0) return;
  const updates: MarkUpdate[] = rows
    .filter((r) => marks.has(r.marketId))
    .map((r) => ({
      venue: r.venue,
      market: r.marketId,
      price: marks.get(r.marketId)!,
      category: r.category,
      evidenceHash: r.evidenceHash,
      observedAt: r.fetchedAt,
      // The book's sides in the same observation: risk collars opening orders around them too. Only
      // well-formed prices go (one malformed value would make risk refuse the whole batch).
      bestBid: bookSide(r.yesBid),
      bestAsk: bookSide(r.yesAsk),
    }));
  try {
    const r = await withTimeout(
      deps.risk.recordMarks(updates),
      deps.peerTimeoutMs ?? 5_000,
      "risk.recordMarks",
    );
    if (!(r as { ok: boolean }).ok) {
      const e = (r as { error?: { code?: string; message?: string } }).error;
      throw new Error(`${e?.code ?? "refused"}: ${e?.message ?? ""}`);
    }
  } catch (error) {
    tally.add("risk_marks_failed");
    console.warn(`ingestion: risk.recordMarks failed: ${(error as Error)?.message}`);
  }
}

interface StateRow {
  cursor: string | null;
  consecutive_failures: number;
  passes_completed: number;
  pass_started_at: string | null;
  metadata_since: number | null;
}

/** How long a run may hold a venue before another may take it over (a crashed run's lease lapses). */
export const RUN_LEASE_MS = 5 * 60_000;

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
  const claim = await deps.db
    .prepare(
      `INSERT INTO ingest_state (venue, lease_owner, lease_until) VALUES (?1, ?2, ?3)
       ON CONFLICT (venue) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
       WHERE ingest_state.lease_until IS NULL OR ingest_state.lease_until <= ?4`,
    )
    .bind(venue, owner, now + RUN_LEASE_MS, now)
    .run();
  if (claim.meta.changes !== 1) {
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
    await deps.db
      .prepare(
        "UPDATE ingest_state SET lease_owner = NULL, lease_until = NULL WHERE venue = ?1 AND lease_owner = ?2",
      )
      .bind(venue, owner)
      .run()
      .catch((error: unknown) =>
        console.error(`ingestion ${venue}: lease release failed: ${(error as Error).message}`),
      );
  }
}

/**
 * A run that threw (a bug, a storage error outside a page commit) is still a failed run: recorded, counted
 * toward the breaker's report, its cursor left where the last committed page put it.
 */
async function recordCrashedRun(
  deps: PipelineDeps,
  venue: MarketVenue,
  leaseOwner: string,
  startedMs: number,
  error: unknown,
): Promise<{ report: VenueRunReport; consecutiveFailures: number }> {
  const detail = String((error as Error)?.message ?? error).slice(0, 300);
  console.error(`ingestion ${venue}: run failed: ${detail}`);
  const errors = { exception: 1 };
  const startedAt = new Date(startedMs).toISOString();
  const finishedAt = new Date(deps.now()).toISOString();
  let consecutiveFailures = 1;
  try {
    const state = await deps.db
      .prepare("SELECT consecutive_failures FROM ingest_state WHERE venue = ?1")
      .bind(venue)
      .first<{ consecutive_failures: number }>();
    consecutiveFailures = (state?.consecutive_failures ?? 0) + 1;
    await deps.db.batch([
      deps.db
        .prepare("UPDATE ingest_state SET consecutive_failures = ?1 WHERE venue = ?2 AND lease_owner = ?3")
        .bind(consecutiveFailures, venue, leaseOwner),
      deps.db
        .prepare(
          `INSERT INTO ingest_runs (venue, started_at, finished_at, outcome, pages, fetched, stored, rejected, blocked, errors, pass_completed)
           VALUES (?1, ?2, ?3, 'failed', 0, 0, 0, 0, 0, ?4, 0)`,
        )
        .bind(venue, startedAt, finishedAt, JSON.stringify(errors)),
    ]);
  } catch (recordError) {
    console.error(`ingestion ${venue}: could not record the failed run: ${(recordError as Error)?.message}`);
  }
  const report: VenueRunReport = {
    venue,
    startedAt,
    finishedAt,
    outcome: "failed",
    pages: 0,
    fetched: 0,
    stored: 0,
    rejected: 0,
    blocked: 0,
    errors,
    passCompleted: false,
  };
  return { report, consecutiveFailures };
}

async function runVenueLeased(
  deps: PipelineDeps,
  venue: MarketVenue,
  opts: { maxPages: number; pageSize?: number },
  leaseOwner: string,
): Promise<{ report: VenueRunReport; consecutiveFailures: number }> {
  const tally = new Tally();
  const startedAt = new Date(deps.now()).toISOString();
  const state = await deps.db
    .prepare(
      "SELECT cursor, consecutive_failures, passes_completed, pass_started_at, metadata_since FROM ingest_state WHERE venue = ?1",
    )
    .bind(venue)
    .first<StateRow>();
  const agent = deps.agent ?? new ComplianceAgent();
  let rulesVersion = -1;
  await agent.prepare(async () => {
    const view = await loadRules(deps.db);
    rulesVersion = view.version;
    return view.rules;
  });
  const alreadyBlocked = new Set<string>();
  if (rulesVersion >= 0) {
    const rows = await deps.db
      .prepare("SELECT market_id, rule_id FROM compliance_blocks WHERE venue = ?1 AND rules_version = ?2")
      .bind(venue, rulesVersion)
      .all<{ market_id: string; rule_id: string }>();
    for (const r of rows.results) alreadyBlocked.add(`${r.market_id}|${r.rule_id}`);
  }
  const run: RunContext = {
    agent,
    rulesVersion,
    alreadyBlocked,
    markRefreshMs: await markRefreshMs(deps),
  };
  const pageSize = Math.min(opts.pageSize ?? DEFAULT_PAGE_SIZE[venue], MAX_PAGE_SIZE[venue]);
  let cursor = state?.cursor ?? null;
  // Between full passes (the periodic check), Kalshi is asked only for the markets whose metadata changed.
  const incremental =
    venue === "kalshi" &&
    cursor === null &&
    !kalshiFullPassDue(state, deps.now(), deps.fullPassEveryMs ?? KALSHI_FULL_PASS_EVERY_MS);
  const since = incremental ? state!.metadata_since! : null;
  let incrementalCursor: string | null = null;
  let incrementalDone = false;
  let pages = 0;
  let fetched = 0;
  let stored = 0;
  let changed = 0;
  let marksSent = 0;
  let blocked = 0;
  let rejected = 0;
  let failed = false;
  let passCompleted = false;
  // One commit in flight while the next page is fetched; the cursor only moves past committed pages.
  let inflight: { cursorBefore: string | null; done: Promise<PageResult> } | null = null;
  const settle = async (): Promise<boolean> => {
    if (!inflight) return true;
    const { cursorBefore, done } = inflight;
    inflight = null;
    const r = await done;
    if (!r.ok) {
      rejected += r.rejected;
      failed = true;
      if (incremental) incrementalDone = false;
      else cursor = cursorBefore;
      passCompleted = false;
      return false;
    }
    pages++;
    fetched += r.fetched;
    stored += r.stored;
    changed += r.changed;
    marksSent += r.marksSent;
    blocked += r.blocked;
    rejected += r.rejected;
    return true;
  };
  // No gate, no ingestion: a run whose rules did not load fetches nothing, keeps its cursor, and counts as a
  // failed run (the breaker hears of repeated ones), instead of "succeeding" while denying every market.
  const gateDown = agent.unavailable;
  if (gateDown) {
    failed = true;
    tally.add("compliance_unavailable");
    await audit(deps, tally, "ingestion.compliance_unavailable", { venue, detail: gateDown.slice(0, 300) });
  }
  // A new Kalshi pass starts by bringing the series (and so the categories) up to date.
  if (!gateDown && venue === "kalshi" && cursor === null) await syncKalshiSeries(deps, tally);
  for (let i = 0; !gateDown && i < opts.maxPages; i++) {
    // Renew the lease before every page: a run slower than the lease loses the venue to the next run rather
    // than interleaving with it (both fetching and committing the same pages, one cursor write lost).
    if (!(await renewLease(deps, venue, leaseOwner))) {
      tally.add("lease_lost");
      failed = true;
      break;
    }
    const pageCursor = incremental ? incrementalCursor : cursor;
    const url = incremental
      ? kalshiUpdatedMarketsUrl(since!, incrementalCursor, pageSize)
      : venue === "kalshi"
        ? kalshiMarketsUrl(cursor, pageSize)
        : gammaMarketsUrl(cursor, pageSize);
    const prep = await preparePage(deps, run, venue, url, pageCursor, tally);
    if (!(await settle())) break;
    if (!prep.ok) {
      rejected += prep.rejected;
      failed = true;
      if (prep.resetCursor && !incremental) {
        tally.add("cursor_reset");
        cursor = null;
      }
      break;
    }
    inflight = { cursorBefore: cursor, done: prep.commit() };
    if (incremental) {
      incrementalCursor = prep.next;
      if (incrementalCursor === null) {
        incrementalDone = true;
        break;
      }
    } else {
      cursor = prep.next;
      if (cursor === null) {
        passCompleted = true;
        break;
      }
    }
  }
  await settle();
  // The pass this run completed began when this run did (it started from no cursor) or when the run that did.
  const passStartedAt = state?.cursor ? state.pass_started_at : startedAt;
  if (passCompleted && passStartedAt) {
    if (!(await sweepNotListed(deps, venue, run, leaseOwner, tally, passStartedAt))) failed = true;
    // Sightings older than this complete pass are folded into the rows that left the venue's answer, then dropped.
    await runBatches(deps.db, pruneSnapshotsStatements(deps.db, venue, passStartedAt)).catch((error) => {
      tally.add("d1_error");
      console.warn(`ingestion ${venue}: snapshot prune failed: ${(error as Error)?.message}`);
    });
  }
  // A run whose blocks or denials could not be audited did not do all it must: not "ok" (and risk does not
  // hear that ingestion is healthy).
  if (tally.errors.audit_failed) failed = true;
  const outcome: VenueRunReport["outcome"] = !failed ? "ok" : pages > 0 ? "partial" : "failed";
  const consecutiveFailures = outcome === "failed" ? (state?.consecutive_failures ?? 0) + 1 : 0;
  const finishedAt = new Date(deps.now()).toISOString();
  const report: VenueRunReport = {
    venue,
    startedAt,
    finishedAt,
    outcome,
    pages,
    fetched,
    stored,
    rejected,
    blocked,
    errors: tally.errors,
    passCompleted,
    changed,
    marksSent,
    mode: incremental ? "incremental" : "full",
  };
  // The next incremental crawl asks from a little before what this run covered: from the start of a complete full
  // pass (every page after it), or of a complete incremental crawl; a crawl that did not finish asks again.
  const nextSince =
    venue !== "kalshi"
      ? null
      : passCompleted && passStartedAt
        ? Math.floor(Date.parse(passStartedAt) / 1000) - METADATA_SKEW_S
        : incrementalDone && !failed
          ? Math.floor(Date.parse(startedAt) / 1000) - METADATA_SKEW_S
          : (state?.metadata_since ?? null);
  // The cursor is saved only while this run still holds the lease; if it does not, the run says so. An incremental
  // run leaves the full pass's cursor and start alone.
  const saved = await deps.db
    .prepare(
      `INSERT INTO ingest_state (venue, cursor, pass_started_at, passes_completed, consecutive_failures, last_ok_at, metadata_since)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?8)
       ON CONFLICT (venue) DO UPDATE SET cursor = excluded.cursor, passes_completed = excluded.passes_completed,
         consecutive_failures = excluded.consecutive_failures,
         last_ok_at = COALESCE(excluded.last_ok_at, ingest_state.last_ok_at),
         metadata_since = excluded.metadata_since,
         pass_started_at = CASE WHEN ingest_state.cursor IS NULL AND ?9 = 0 THEN excluded.pass_started_at ELSE ingest_state.pass_started_at END
       WHERE ingest_state.lease_owner = ?7`,
    )
    .bind(
      venue,
      cursor,
      startedAt,
      (state?.passes_completed ?? 0) + (passCompleted ? 1 : 0),
      consecutiveFailures,
      outcome === "failed" ? null : finishedAt,
      leaseOwner,
      nextSince,
      incremental ? 1 : 0,
    )
    .run();
  if (saved.meta.changes !== 1 && report.errors.lease_lost === undefined) {
    tally.add("lease_lost");
    report.errors = tally.errors;
    if (report.outcome === "ok") report.outcome = "partial";
    report.passCompleted = false;
  }
  await deps.db
    .prepare(
      `INSERT INTO ingest_runs (venue, started_at, finished_at, outcome, pages, fetched, stored, rejected, blocked, errors, pass_completed, mode)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)`,
    )
    .bind(
      venue,
      startedAt,
      finishedAt,
      report.outcome,
      pages,
      fetched,
      stored,
      rejected,
      blocked,
      JSON.stringify(report.errors),
      report.passCompleted ? 1 : 0,
      report.mode ?? null,
    )
    .run();
  return { report, consecutiveFailures };
}

/** Extend this run's lease on the venue; false when another run holds it now. */
async function renewLease(deps: PipelineDeps, venue: MarketVenue, leaseOwner: string): Promise<boolean> {
  const renewed = await deps.db
    .prepare("UPDATE ingest_state SET lease_until = ?1 WHERE venue = ?2 AND lease_owner = ?3")
    .bind(deps.now() + RUN_LEASE_MS, venue, leaseOwner)
    .run();
  return renewed.meta.changes === 1;
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

/** Tickers per `GET /markets?tickers=` lookup, and lookups after one pass (the rest wait for the next pass). */
export const KALSHI_LOOKUP_TICKERS = 100;
export const KALSHI_LOOKUPS_PER_PASS = 20;
/** Polymarket lookups after one pass (each as many condition ids as fit the URL bound; gammaLookupChunks). */
export const POLYMARKET_LOOKUPS_PER_PASS = 20;
/** Keyset pages followed per Polymarket lookup (gamma clamps `limit`, so one may come back in more than one). */
export const POLYMARKET_LOOKUP_PAGES = 3;

/**
 * Markets we store as `active` that a complete pass did not list (closed, settled, paused or archived since it last
 * saw them): each crawl asks only for open markets (Kalshi `status=open`, gamma `closed=false`), so without this they
 * would stay `active` forever. Each is looked up by id with no status filter — Kalshi `GET /markets?tickers=…` ("any
 * status"); gamma `GET /markets/keyset?limit=n&condition_ids=…`, the SDK's `listMarkets({ conditionIds, pageSize })`
 * — and stored with the status the venue answers, through evidence and the gate like any page. One the venue does not
 * answer for (Kalshi: settled before the historical cutoff; gamma: archived, which the public endpoint never lists)
 * or answers in a form we cannot store becomes `unlisted` (ours, not a venue status). A lookup that fails leaves its
 * markets for the next pass. Answers false when a lookup failed.
 */
async function sweepNotListed(
  deps: PipelineDeps,
  venue: MarketVenue,
  run: RunContext,
  leaseOwner: string,
  tally: Tally,
  passStartedAt: string,
): Promise<boolean> {
  const cap =
    venue === "kalshi"
      ? KALSHI_LOOKUP_TICKERS * KALSHI_LOOKUPS_PER_PASS
      : GAMMA_LOOKUP_IDS * POLYMARKET_LOOKUPS_PER_PASS;
  // Not listed by any page (or lookup) seen since the pass began: the pass's snapshots say what it saw.
  const seenSince = `SELECT j.value FROM market_snapshots p, json_each(p.market_ids) j
    WHERE p.venue = ?1 AND p.seen_at >= ?2`;
  const stale = await deps.db
    .prepare(
      `SELECT market_id FROM markets WHERE venue = ?1 AND status = 'active' AND market_id NOT IN (${seenSince})
       ORDER BY market_id LIMIT ?3`,
    )
    .bind(venue, passStartedAt, cap)
    .all<{ market_id: string }>();
  const ids = stale.results.map((r) => r.market_id);
  if (ids.length === 0) return true;
  const closed: { id: string; status: string }[] = [];
  const chunks =
    venue === "kalshi"
      ? Array.from({ length: Math.ceil(ids.length / KALSHI_LOOKUP_TICKERS) }, (_, i) =>
          ids.slice(i * KALSHI_LOOKUP_TICKERS, (i + 1) * KALSHI_LOOKUP_TICKERS),
        )
      : gammaLookupChunks(ids);
  for (const chunk of chunks) {
    let cursor: string | null = null;
    for (let page = 0; page < (venue === "kalshi" ? 1 : POLYMARKET_LOOKUP_PAGES); page++) {
      // Only while this run still holds the venue (as before every crawl page).
      if (!(await renewLease(deps, venue, leaseOwner))) {
        tally.add("lease_lost");
        return false;
      }
      const url = venue === "kalshi" ? kalshiMarketsByTickerUrl(chunk) : gammaMarketsByIdUrl(chunk, cursor);
      const prep = await preparePage(deps, run, venue, url, cursor, tally);
      if (!prep.ok) return false;
      const done = await prep.commit();
      if (!done.ok) return false;
      for (const r of done.storedRows)
        if (r.status !== "active") closed.push({ id: r.marketId, status: r.status });
      cursor = venue === "kalshi" ? null : done.next;
      if (cursor === null) break;
    }
  }
  // Still active and still not seen since the pass began: the venue did not answer for it in a form we store. Its
  // content hash is cleared, so the row is rewritten (active again) if it ever reappears unchanged.
  const unlisted = await deps.db
    .prepare(
      `UPDATE markets SET status = 'unlisted', content_hash = NULL WHERE venue = ?1 AND status = 'active'
         AND market_id IN (SELECT value FROM json_each(?3)) AND market_id NOT IN (${seenSince}) RETURNING market_id`,
    )
    .bind(venue, passStartedAt, JSON.stringify(ids))
    .all<{ market_id: string }>();
  for (const r of unlisted.results) closed.push({ id: r.market_id, status: "unlisted" });
  if (closed.length > 0) {
    const statuses: Record<string, number> = {};
    for (const c of closed) statuses[c.status] = (statuses[c.status] ?? 0) + 1;
    await audit(deps, tally, "ingestion.markets_closed", {
      venue,
      passStartedAt,
      checked: ids.length,
      count: closed.length,
      statuses,
      markets: closed.slice(0, 50),
    });
  }
  return true;
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

/** Call risk or governance, bounded in time; a failure is logged, never fatal. Answers whether it went through. */
export async function callPeer(
  deps: PipelineDeps,
  what: string,
  call: () => Promise<Result<unknown>>,
  bound: boolean,
): Promise<boolean> {
  if (!bound) return false;
  const r = await rpc(call, { what, timeoutMs: deps.peerTimeoutMs ?? 5_000 });
  if (!r.ok)
    console.warn(`ingestion: ${what} failed (logged, not fatal): ${r.error.code}: ${r.error.message}`);
  return r.ok;
}

/** Text-match active Kalshi and Polymarket markets and hand the candidates to governance. */
export async function proposePairs(deps: PipelineDeps): Promise<number> {
  if (!deps.governance) return 0;
  // Stored rows passed the rules in force when their page was ingested; a rule added since may block some
  // that have not been re-ingested yet. Check them again against the current rules: no gate, no proposals.
  const agent = await gateWithCurrentRules(deps.db, deps.agent);
  if (agent.unavailable) {
    console.warn(`ingestion: no pair proposals: ${agent.unavailable}`);
    return 0;
  }
  const load = async (venue: MarketVenue): Promise<StoredMarketRow[]> => {
    const rows = await deps.db
      .prepare(
        "SELECT venue, market_id, event_id, series_id, title, category, close_time, rules, resolution_source, evidence_hash, terms_hash, outcome_tokens, fetched_at FROM markets WHERE venue = ?1 AND status = 'active'",
      )
      .bind(venue)
      .all<Record<string, string | null>>();
    const out: StoredMarketRow[] = [];
    for (const r of rows.results) {
      const row: StoredMarketRow = {
        venue,
        marketId: r.market_id!,
        eventId: r.event_id ?? null,
        seriesId: r.series_id ?? null,
        title: r.title!,
        category: r.category ?? null,
        status: "active",
        closeTime: r.close_time ?? null,
        rules: r.rules ?? null,
        resolutionSource: r.resolution_source ?? null,
        yesBid: null,
        yesAsk: null,
        lastPrice: null,
        outcomeTokens: r.outcome_tokens ? (JSON.parse(r.outcome_tokens) as string[]) : null,
        evidenceHash: r.evidence_hash!,
        termsHash: r.terms_hash!,
        fetchedAt: r.fetched_at!,
      };
      // The hash of the current scheme, from the stored fields: a row stored under an older scheme is proposed with
      // the same hash a fresh ingestion would give it (and getMarket serves), not with the one in its column.
      try {
        const t = termsOf(row);
        out.push({ ...row, termsHash: termsHashSync(t) ?? (await termsHash(t)) });
      } catch {
        // Not representable (a lone surrogate): never proposed.
      }
    }
    return out;
  };
  const allowed = (rows: StoredMarketRow[]) => rows.filter((r) => agent.check(r).decision === "allow");
  const [kalshi, poly] = [allowed(await load("kalshi")), allowed(await load("polymarket"))];
  const candidates = matchCandidates(kalshi, poly);
  if (candidates.length === 0) return 0;
  const gov = deps.governance;
  await callPeer(deps, "governance.proposePairs", () => gov.proposePairs(candidates, deps.actor), true);
  return candidates.length;
}
