// A venue read with its evidence: fetched under the venue's bucket (signed where Kalshi's spec says so), kept in
// R2 before anything parses it, and its failures, skips, blocks and marks recorded (audit, evidence state, risk).
import type { AuditEvent, AuditPayload, MarketVenue, MarkUpdate } from "@paulp/contracts";
import { kalshiEndpoint } from "@paulp/kalshi-spec";
import { withTimeout } from "@paulp/kit";
import {
  type FastGuard,
  type MarketSkip,
  parseBody,
  SKIPPED_BY_DESIGN,
  type StoredMarketRow,
} from "@paulp/venue-decode";
import type * as v from "valibot";
import { type FetchOutcome, fetchWithEvidence, type ReadBucket, TokenBucket } from "./client";
import { audit, type PipelineDeps, type Tally, VENUE_RATE } from "./deps";
import { evidenceRecordStatements, markEvidence, putEvidence, storeEvidence } from "./evidence";

/** The D1 record of a 2xx answer's evidence, built but not run: the caller runs it in its next batch. */
export interface DeferredRecord {
  statements: D1PreparedStatement[];
}

/**
 * Fetch a URL for a venue with evidence capture; the bytes go to R2 before anything parses. Their D1 record is written
 * with them, or, given `deferred` and a 2xx answer, left in it for the caller's next batch (a markets page records it
 * in its one read batch: one D1 round trip fewer; nothing derived from the page is written before that batch).
 */
export function fetchVenue(
  deps: PipelineDeps,
  venue: MarketVenue,
  url: string,
  deferred?: DeferredRecord,
  /** The read's token, asked for already (`takeReadToken`); otherwise it is taken as the read starts. */
  token?: ReadToken,
): Promise<FetchOutcome> {
  const shared = venueBucket(deps, venue);
  const bucket: ReadBucket = token ? withFirstToken(shared, token) : shared;
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
    capture: async (raw) => {
      const at = new Date(deps.now()).toISOString();
      if (!deferred || raw.status < 200 || raw.status >= 300)
        return storeEvidence({ bucket: deps.bucket, db: deps.db }, venue, raw, at);
      const hash = await putEvidence(deps.bucket, venue, raw, at);
      deferred.statements = evidenceRecordStatements(deps.db, venue, raw, hash, at);
      return hash;
    },
    now: deps.now,
    sleep: deps.sleep,
    random: deps.random,
    ...deps.client,
  });
}

/** The venue's read bucket (the run's own when the deps carry none for it). */
function venueBucket(deps: PipelineDeps, venue: MarketVenue): ReadBucket {
  let bucket = deps.buckets.get(venue);
  if (!bucket) {
    bucket = new TokenBucket(VENUE_RATE[venue].capacity, VENUE_RATE[venue].refillPerSecond, deps.now());
    deps.buckets.set(venue, bucket);
  }
  return bucket;
}

/** A read token asked for before its read starts: the wait its bucket answered, and when it was asked. */
export interface ReadToken {
  wait: Promise<number>;
  askedAt: number;
}

/**
 * Ask the venue's bucket for a read's token now, for a read that starts later (`fetchVenue(…, token)`). The crawl's
 * bucket is the shared read budget, a Durable Object: asked while this page's reads are in flight, its answer is in
 * hand when the next page is fetched, instead of that fetch waiting on one more round trip behind this page's work.
 */
export function takeReadToken(deps: PipelineDeps, venue: MarketVenue): ReadToken {
  const askedAt = deps.now();
  let wait: Promise<number>;
  try {
    wait = Promise.resolve(venueBucket(deps, venue).take(askedAt));
  } catch (error) {
    wait = Promise.reject(error);
  }
  // A token asked for and never used (the run stopped first) is only spent; its failure is the read's, if it starts.
  wait.catch(() => {});
  return { wait, askedAt };
}

/** The bucket of a read whose first token was asked for already (its wait counted from when it was asked). */
function withFirstToken(bucket: ReadBucket, token: ReadToken): ReadBucket {
  let first: ReadToken | null = token;
  return {
    take(now) {
      if (first === null) return bucket.take(now);
      const { wait, askedAt } = first;
      first = null;
      return wait.then((w) => Math.max(0, w - (now - askedAt)));
    },
  };
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
  /** The evidence's D1 record when it was deferred (fetchVenue): written with the rejection. */
  deferred: D1PreparedStatement[] = [],
): Promise<void> {
  tally.add(parsed.kind);
  await deps.db
    .batch([...deferred, markEvidence(deps.db, evidenceHash, "rejected", `${parsed.kind}: ${parsed.detail}`)])
    .catch(() => tally.add(deferred.length > 0 ? "evidence_write" : "d1_error"));
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
export async function auditSkips(
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
export async function auditMany(
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
export async function pushMarks(
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
