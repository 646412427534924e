import type { MarkRefresh, MarkUpdate, RawVenueAnswer, TradedMarket } from "@paulp/contracts";
import { auditAppend, withTimeout } from "@paulp/kit";
import { markFrom, parseBody } from "@paulp/venue-decode";
import { fetchFreshBook } from "./books";
import { type ComplianceAgent, type ComplianceEntity, gateWithCurrentRules } from "./compliance";
import type { PipelineDeps } from "./deps";
import { markEvidence, storeEvidence } from "./evidence";
import { IbkrSnapshot, ibkrMark } from "./ibkr-snapshot";
import { getMarketRow } from "./market-queries";

/**
 * The data side of execution's fast path (which decides what to refresh and when): fresh books of traded
 * markets, and IBKR snapshots execution read through its gateway session, each through evidence (raw bytes in
 * R2 before anything parses them) and the compliance gate in force now; the marks go to risk in one batch and
 * (a crawled market's) onto its market row. A market is reported refreshed only once risk has its mark.
 */

/** Book reads in flight at once (still within the venue's bucket). */
const CONCURRENCY = 8;

type Count = (kind: string, n?: number) => void;
const counter = (): { errors: Record<string, number>; count: Count } => {
  const errors: Record<string, number> = {};
  const count: Count = (kind, n = 1) => {
    errors[kind] = (errors[kind] ?? 0) + n;
  };
  return { errors, count };
};

/** The gate in force now, or null when the rules cannot be loaded (then nothing is read). */
async function currentGate(deps: PipelineDeps): Promise<ComplianceAgent | null> {
  const agent = await gateWithCurrentRules(deps.db, deps.agent).catch(() => null);
  return agent && !agent.unavailable ? agent : null;
}

/** Read the books of these stored Kalshi and Polymarket markets now, and give risk their marks. */
export async function refreshBooks(
  deps: PipelineDeps,
  markets: readonly TradedMarket[],
): Promise<MarkRefresh> {
  const { errors, count } = counter();
  if (markets.length === 0) return { refreshed: [], errors };
  const agent = await currentGate(deps);
  if (!agent) {
    count("compliance_unavailable", markets.length);
    return { refreshed: [], errors };
  }
  const marks: MarkUpdate[] = [];
  const queue = [...markets];
  const worker = async () => {
    for (let m = queue.shift(); m; m = queue.shift()) {
      const r = await refreshBook(deps, agent, m);
      if ("kind" in r) count(r.kind);
      else marks.push(r);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
  return { refreshed: await deliver(deps, marks, count), errors };
}

/** Keep an IBKR snapshot answer as evidence, parse it, and give risk the marks of these instruments. */
export async function ingestIbkrSnapshot(
  deps: PipelineDeps,
  answer: RawVenueAnswer,
  instruments: readonly TradedMarket[],
): Promise<MarkRefresh> {
  const { errors, count } = counter();
  const agent = await currentGate(deps);
  if (!agent) {
    count("compliance_unavailable", instruments.length);
    return { refreshed: [], errors };
  }
  const r = await snapshotMarks(deps, agent, answer, instruments);
  for (const [kind, n] of Object.entries(r.errors)) count(kind, n);
  return { refreshed: await deliver(deps, r.marks, count), errors };
}

/** Store the marks and push them to risk; the markets risk took, as `venue:market`. */
async function deliver(deps: PipelineDeps, marks: MarkUpdate[], count: Count): Promise<string[]> {
  if (marks.length === 0) return [];
  await storeMarks(deps.db, marks).catch(() => count("d1_error"));
  if (!deps.risk) return [];
  try {
    const r = (await withTimeout(
      deps.risk.recordMarks(marks),
      deps.peerTimeoutMs ?? 5_000,
      "risk.recordMarks",
    )) as { ok: boolean };
    if (!r.ok) throw new Error("refused");
  } catch (error) {
    count("risk_marks_failed", marks.length);
    console.warn(`ingestion fast marks: risk.recordMarks failed: ${(error as Error)?.message}`);
    return [];
  }
  return marks.map((m) => `${m.venue}:${m.market}`);
}

/** A stored Kalshi or Polymarket market's book, read fresh; its mark, or why not. */
async function refreshBook(
  deps: PipelineDeps,
  agent: ComplianceAgent,
  m: TradedMarket,
): Promise<MarkUpdate | { kind: string }> {
  if (m.venue === "ibkr") return { kind: "not_a_book_venue" };
  const market = await getMarketRow(deps.db, m.venue, m.market, deps.now());
  // Only a market the crawl stored (with its terms, category and evidence) is refreshed here.
  if (!market) return { kind: "unknown_market" };
  if (agent.check(market).decision !== "allow") return { kind: "compliance_blocked" };
  const book = await fetchFreshBook(deps, market);
  if (!book.ok) return { kind: book.error.code };
  const price = markFrom(book.value.bids[0]?.price ?? null, book.value.asks[0]?.price ?? null, null);
  if (price === null) return { kind: "no_price" };
  return {
    venue: m.venue,
    market: m.market,
    price,
    category: market.category,
    evidenceHash: book.value.evidenceHash,
    observedAt: book.value.fetchedAt,
  };
}

/** An IBKR snapshot answer (read by execution, unparsed), kept as evidence before it is parsed; its marks. */
async function snapshotMarks(
  deps: PipelineDeps,
  agent: ComplianceAgent,
  answer: RawVenueAnswer,
  batch: readonly TradedMarket[],
): Promise<{ marks: MarkUpdate[]; errors: Record<string, number> }> {
  const fail = (kind: string) => ({ marks: [], errors: { [kind]: batch.length } });
  // The gate sees an IBKR instrument as the entity it is: its conid and category (no title, event or rules).
  const allowed = batch.filter((m) => {
    const entity: ComplianceEntity = {
      venue: "ibkr",
      marketId: m.market,
      eventId: null,
      seriesId: null,
      title: `IBKR conid ${m.market}`,
      category: m.category,
      rules: null,
    };
    return agent.check(entity).decision === "allow";
  });
  const errors: Record<string, number> = {};
  if (allowed.length < batch.length) errors.compliance_blocked = batch.length - allowed.length;
  if (allowed.length === 0) return { marks: [], errors };
  const fetchedAt = new Date(deps.now()).toISOString();
  let evidenceHash: string;
  try {
    evidenceHash = await storeEvidence(
      { bucket: deps.bucket, db: deps.db },
      "ibkr",
      { ...answer, retryAfter: null },
      fetchedAt,
    );
  } catch {
    return fail("evidence_write");
  }
  // Only a 2xx answer is data (anything else is kept as evidence, rejected).
  if (answer.status < 200 || answer.status >= 300) return fail(`http_${answer.status}`);
  const parsed = parseBody(IbkrSnapshot, answer.bytes);
  if (!parsed.ok) {
    await markEvidence(deps.db, evidenceHash, "rejected", `${parsed.kind}: ${parsed.detail}`)
      .run()
      .catch(() => {});
    await auditAppend(deps.audit, {
      type: "ingestion.response_rejected",
      service: "ingestion",
      actor: deps.actor,
      payload: {
        venue: "ibkr",
        url: answer.url,
        kind: parsed.kind,
        evidenceHash,
        detail: parsed.detail,
      },
    });
    return fail(parsed.kind);
  }
  await markEvidence(deps.db, evidenceHash, "accepted", null)
    .run()
    .catch(() => {});
  const marks: MarkUpdate[] = [];
  for (const m of allowed) {
    const row = parsed.value.find((r) => String(r.conid) === m.market);
    const price = row ? ibkrMark(row) : null;
    if (price === null) {
      // The first snapshot of a conid starts its market data; its prices come on the next tick.
      errors.no_price = (errors.no_price ?? 0) + 1;
      continue;
    }
    marks.push({
      venue: "ibkr",
      market: m.market,
      price,
      category: m.category,
      evidenceHash,
      observedAt: fetchedAt,
    });
  }
  return { marks, errors };
}

/**
 * Keep the marks of crawled markets on their rows, beside the crawl's (a mark older than the stored one changes
 * nothing). An IBKR instrument has no market row: its mark goes to risk only, its snapshot stays in evidence.
 */
async function storeMarks(db: D1Database, marks: MarkUpdate[]): Promise<void> {
  const stored = marks.filter((m) => m.venue !== "ibkr");
  if (stored.length === 0) return;
  await db
    .prepare(
      `UPDATE markets SET mark_price = m.value ->> '$[2]', mark_evidence_hash = m.value ->> '$[3]',
         mark_observed_at = m.value ->> '$[4]'
       FROM json_each(?1) m
       WHERE markets.venue = m.value ->> '$[0]' AND markets.market_id = m.value ->> '$[1]'
         AND m.value ->> '$[2]' IS NOT NULL
         AND (markets.mark_observed_at IS NULL OR m.value ->> '$[4]' > markets.mark_observed_at)`,
    )
    .bind(JSON.stringify(stored.map((m) => [m.venue, m.market, m.price, m.evidenceHash, m.observedAt])))
    .run();
}
