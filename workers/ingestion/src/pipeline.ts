import type {
  AuditService,
  GovernanceService,
  MarketVenue,
  MarkUpdate,
  Principal,
  RiskService,
  VenueRunReport,
} from "@paulp/contracts";
import { kalshiEndpoint } from "@paulp/kalshi-spec";
import { auditAppend, type EgressFetch, type KalshiSigner, randomId, withTimeout } from "@paulp/kit";
import type * as v from "valibot";
import { type ClientOptions, type FetchOutcome, fetchWithEvidence, TokenBucket } from "./client";
import { ComplianceAgent, type ComplianceEntity, gateWithCurrentRules, loadRules } from "./compliance";
import { markFrom } from "./decimal";
import { markEvidence, storeEvidence } from "./evidence";
import { kalshiEventInfo, syncKalshiSeries } from "./kalshi-series";
import { matchCandidates } from "./matching";
import { deleteMarketsStatements, recordBlocksStatement, runBatches, upsertMarketStatements } from "./store";
import { termsHash, termsHashSync, termsOf } from "./terms";
import {
  isKalshiMarketsPage,
  KalshiMarketsPage,
  type KalshiParsedPage,
  kalshiMarketsByTickerUrl,
  kalshiMarketsUrl,
  kalshiRows,
  parseKalshiMarkets,
} from "./venues/kalshi";
import { type FastGuard, parseBody } from "./venues/parse";
import { GammaKeysetPage, gammaMarketsUrl, gammaPage } from "./venues/polymarket";
import { type MarketPage, type MarketSkip, SKIPPED_BY_DESIGN, type StoredMarketRow } from "./venues/types";

/** Everything a run needs, passed in (bindings, clock, randomness) so the pipeline is testable as values. */
export interface PipelineDeps {
  db: D1Database;
  bucket: R2Bucket;
  audit: AuditService;
  risk?: RiskService | undefined;
  governance?: GovernanceService | undefined;
  fetch: EgressFetch;
  buckets: Map<MarketVenue, TokenBucket>;
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

export async function audit(
  deps: PipelineDeps,
  tally: Tally,
  type: string,
  payload: Record<string, unknown>,
): Promise<boolean> {
  const r = await auditAppend(deps.audit, {
    type,
    service: "ingestion",
    actor: deps.actor,
    payload: payload as never,
  });
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
  storedRows: StoredMarketRow[];
}

async function preparePage(
  deps: PipelineDeps,
  agent: ComplianceAgent,
  rulesVersion: number,
  alreadyBlocked: Set<string>,
  venue: MarketVenue,
  /** The page's URL, and the cursor it was asked from (null for a first page or a lookup by ticker). */
  url: string,
  cursor: string | null,
  tally: Tally,
): Promise<Prepared> {
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
  const decoded =
    venue === "kalshi"
      ? mapParsed(parseBody(KalshiMarketsPage, response.bytes, isKalshiMarketsPage), parseKalshiMarkets)
      : mapParsed(parseBody(GammaKeysetPage, response.bytes), gammaPage);
  // A next cursor equal to the one sent would fetch this page forever: the pass starts again instead.
  const stuck = decoded.ok && cursor !== null && decoded.value.next === cursor;
  const parsed: typeof decoded = stuck
    ? { ok: false, kind: "cursor_not_advancing", detail: "the next cursor is the cursor sent" }
    : decoded;
  if (!parsed.ok) {
    await recordParseFailure(deps, tally, venue, url, response.status, evidenceHash, parsed);
    return fail(1, stuck);
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
  const allowed: StoredMarketRow[] = [];
  const blockedEvents: Record<string, unknown>[] = [];
  const blockedIds: string[] = [];
  const denied: { marketId: string; reason: string }[] = [];
  for (const row of page.rows) {
    const entity: ComplianceEntity = row;
    const decision = agent.check(entity);
    if (decision.decision === "allow") {
      // Synchronous unless a field holds a surrogate (then the general, validating path, which refuses a
      // lone surrogate: that market alone is denied, the rest of the page goes on).
      let terms: string;
      try {
        const t = termsOf(row);
        terms = termsHashSync(t) ?? (await termsHash(t));
      } catch (error) {
        denied.push({ marketId: row.marketId, reason: `not representable: ${(error as Error)?.message}` });
        continue;
      }
      allowed.push({ ...row, evidenceHash, termsHash: terms, fetchedAt });
    } else if (decision.decision === "block") {
      blockedIds.push(row.marketId);
      const key = `${row.marketId}|${decision.rule.id}`;
      if (!alreadyBlocked.has(key)) {
        blockedEvents.push({
          venue,
          marketId: row.marketId,
          title: row.title.slice(0, 200),
          rule: decision.rule,
          rulesVersion,
          evidenceHash,
        });
      }
    } else {
      denied.push({ marketId: row.marketId, reason: decision.reason });
    }
  }
  const marks = new Map<string, string>();
  for (const r of allowed) {
    const m = markFrom(r.yesBid, r.yesAsk, r.lastPrice);
    if (m !== null) marks.set(r.marketId, m);
  }
  // Phase two runs while the next page is fetched: D1 writes, audits and marks overlap the next request.
  const commit = async (): Promise<PageResult> => {
    const statements = upsertMarketStatements(deps.db, allowed, marks, rulesVersion);
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
      return { ok: false, rejected: 0, next: cursor, fetched: 0, stored: 0, blocked: 0, storedRows: [] };
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
      return { ok: false, rejected: 0, next: cursor, fetched: 0, stored: 0, blocked: 0, storedRows: [] };
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
    await pushMarks(deps, tally, allowed, marks);
    return {
      ok: true,
      next: page.next,
      fetched: page.rows.length + page.skips.length,
      stored: allowed.length,
      blocked: blockedIds.length,
      rejected: denied.length,
      storedRows: allowed,
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

function mapParsed<T, U>(
  r: { ok: true; value: T } | { ok: false; kind: string; detail: string },
  f: (v: T) => U,
): { ok: true; value: U } | { ok: false; kind: string; detail: string } {
  return r.ok ? { ok: true, value: f(r.value) } : r;
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
async function auditMany(deps: PipelineDeps, payloads: Record<string, unknown>[]): Promise<boolean> {
  try {
    const events = payloads.map((p) => ({
      type: "compliance.blocked",
      service: "ingestion" as const,
      actor: deps.actor,
      payload: p as never,
    }));
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
      "SELECT cursor, consecutive_failures, passes_completed, pass_started_at FROM ingest_state WHERE venue = ?1",
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
  const pageSize = Math.min(opts.pageSize ?? DEFAULT_PAGE_SIZE[venue], MAX_PAGE_SIZE[venue]);
  let cursor = state?.cursor ?? null;
  let pages = 0;
  let fetched = 0;
  let stored = 0;
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
      cursor = cursorBefore;
      passCompleted = false;
      return false;
    }
    pages++;
    fetched += r.fetched;
    stored += r.stored;
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
    const renewed = await deps.db
      .prepare("UPDATE ingest_state SET lease_until = ?1 WHERE venue = ?2 AND lease_owner = ?3")
      .bind(deps.now() + RUN_LEASE_MS, venue, leaseOwner)
      .run();
    if (renewed.meta.changes !== 1) {
      tally.add("lease_lost");
      failed = true;
      break;
    }
    const url = venue === "kalshi" ? kalshiMarketsUrl(cursor, pageSize) : gammaMarketsUrl(cursor, pageSize);
    const prep = await preparePage(deps, agent, rulesVersion, alreadyBlocked, venue, url, cursor, tally);
    if (!(await settle())) break;
    if (!prep.ok) {
      rejected += prep.rejected;
      failed = true;
      if (prep.resetCursor) {
        tally.add("cursor_reset");
        cursor = null;
      }
      break;
    }
    inflight = { cursorBefore: cursor, done: prep.commit() };
    cursor = prep.next;
    if (cursor === null) {
      passCompleted = true;
      break;
    }
  }
  await settle();
  // The pass this run completed began when this run did (it started from no cursor) or when the run that did.
  const passStartedAt = state?.cursor ? state.pass_started_at : startedAt;
  if (venue === "kalshi" && passCompleted && passStartedAt) {
    const ctx = { agent, rulesVersion, alreadyBlocked, leaseOwner };
    if (!(await sweepKalshiNotOpen(deps, ctx, tally, passStartedAt))) failed = true;
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
  };
  // The cursor is saved only while this run still holds the lease; if it does not, the run says so.
  const saved = await deps.db
    .prepare(
      `INSERT INTO ingest_state (venue, cursor, pass_started_at, passes_completed, consecutive_failures, last_ok_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6)
       ON CONFLICT (venue) DO UPDATE SET cursor = excluded.cursor, passes_completed = excluded.passes_completed,
         consecutive_failures = excluded.consecutive_failures,
         last_ok_at = COALESCE(excluded.last_ok_at, ingest_state.last_ok_at),
         pass_started_at = CASE WHEN ingest_state.cursor IS NULL THEN excluded.pass_started_at ELSE ingest_state.pass_started_at END
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
      `INSERT INTO ingest_runs (venue, started_at, finished_at, outcome, pages, fetched, stored, rejected, blocked, errors, pass_completed)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)`,
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
    )
    .run();
  return { report, consecutiveFailures };
}

/** Tickers per `GET /markets?tickers=` lookup, and lookups after one pass (the rest wait for the next pass). */
export const KALSHI_LOOKUP_TICKERS = 100;
export const KALSHI_LOOKUPS_PER_PASS = 20;

/**
 * Kalshi markets we store as `active` that a complete open pass did not list (closed, settled, paused or archived
 * since it last saw them): the crawl asks only for open markets, so without this they would stay `active` forever.
 * Each is looked up by ticker (`GET /markets?tickers=…`, no status filter: "any status") and stored with the status
 * Kalshi answers, through evidence and the gate like any page; one Kalshi does not answer for (settled before the
 * historical cutoff, when only `GET /historical/markets` has it) or answers in a form we cannot store becomes
 * `unlisted`. A lookup that fails leaves its markets for the next pass. Answers false when a lookup failed.
 */
async function sweepKalshiNotOpen(
  deps: PipelineDeps,
  ctx: { agent: ComplianceAgent; rulesVersion: number; alreadyBlocked: Set<string>; leaseOwner: string },
  tally: Tally,
  passStartedAt: string,
): Promise<boolean> {
  const stale = await deps.db
    .prepare(
      `SELECT market_id FROM markets WHERE venue = 'kalshi' AND status = 'active' AND fetched_at < ?1
       ORDER BY market_id LIMIT ?2`,
    )
    .bind(passStartedAt, KALSHI_LOOKUP_TICKERS * KALSHI_LOOKUPS_PER_PASS)
    .all<{ market_id: string }>();
  const ids = stale.results.map((r) => r.market_id);
  if (ids.length === 0) return true;
  const closed: { id: string; status: string }[] = [];
  for (let i = 0; i < ids.length; i += KALSHI_LOOKUP_TICKERS) {
    // Only while this run still holds the venue (as before every crawl page).
    const renewed = await deps.db
      .prepare("UPDATE ingest_state SET lease_until = ?1 WHERE venue = 'kalshi' AND lease_owner = ?2")
      .bind(deps.now() + RUN_LEASE_MS, ctx.leaseOwner)
      .run();
    if (renewed.meta.changes !== 1) {
      tally.add("lease_lost");
      return false;
    }
    const url = kalshiMarketsByTickerUrl(ids.slice(i, i + KALSHI_LOOKUP_TICKERS));
    const prep = await preparePage(
      deps,
      ctx.agent,
      ctx.rulesVersion,
      ctx.alreadyBlocked,
      "kalshi",
      url,
      null,
      tally,
    );
    if (!prep.ok) return false;
    const done = await prep.commit();
    if (!done.ok) return false;
    for (const r of done.storedRows)
      if (r.status !== "active") closed.push({ id: r.marketId, status: r.status });
  }
  // Still active and still not seen since the pass began: Kalshi did not answer for it in a form we store.
  const unlisted = await deps.db
    .prepare(
      `UPDATE markets SET status = 'unlisted' WHERE venue = 'kalshi' AND status = 'active' AND fetched_at < ?1
         AND market_id IN (SELECT value FROM json_each(?2)) RETURNING market_id`,
    )
    .bind(passStartedAt, JSON.stringify(ids))
    .all<{ market_id: string }>();
  for (const r of unlisted.results) closed.push({ id: r.market_id, status: "unlisted" });
  if (closed.length > 0) {
    const statuses: Record<string, number> = {};
    for (const c of closed) statuses[c.status] = (statuses[c.status] ?? 0) + 1;
    await audit(deps, tally, "ingestion.markets_closed", {
      venue: "kalshi",
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
  call: () => Promise<unknown>,
  bound: boolean,
): Promise<boolean> {
  if (!bound) return false;
  try {
    const r = (await withTimeout(call(), deps.peerTimeoutMs ?? 5_000, what)) as {
      ok?: boolean;
      error?: { code?: string };
    };
    if (r?.ok !== true) throw new Error(r?.error?.code ?? "refused");
    return true;
  } catch (error) {
    console.warn(`ingestion: ${what} failed (logged, not fatal): ${(error as Error)?.message}`);
    return false;
  }
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
