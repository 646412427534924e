// A page's commit (phase two of page.ts's preparePage), run while the next page is fetched: the markets the page
// before it also listed read again, only what changed written in one batch under the rules version it was gated by,
// then its blocks, skips and denials audited and its marks sent to risk.
import type { MarketVenue } from "@paulp/contracts";
import type { MarketPage, StoredMarketRow } from "@paulp/venue-decode";
import { audit, type PipelineDeps, type Tally } from "./deps";
import { markEvidence } from "./evidence";
import type { RunContext } from "./page";
import { type GatedPage, type PageWrites, planWrites } from "./page-plan";
import {
  deleteMarketsStatements,
  recordBlocksStatement,
  recordSnapshotStatement,
  refreshMarkStatements,
  rulesVersionStatement,
  runBatches,
  type StoredState,
  storedStates,
  upsertMarketStatements,
} from "./store";
import { auditMany, auditSkips, pushMarks } from "./venue-reads";

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

/** A page fetched, read and gated, as its commit takes it. */
export interface GatedMarketPage extends GatedPage {
  url: string;
  /** The cursor the page was asked from (a failed commit answers it as `next`). */
  cursor: string | null;
  evidenceHash: string;
  fetchedAt: string;
  page: MarketPage;
  /** The markets the page listed, and their stored states as read with the page. */
  listed: string[];
  stored: Map<string, StoredState>;
}

/**
 * Phase two of a page, run while the next page is fetched: D1 reads and writes, audits and marks overlap the next
 * request. A commit that fails writes no market row and tells risk nothing.
 */
export async function commitPage(
  deps: PipelineDeps,
  run: RunContext,
  venue: MarketVenue,
  p: GatedMarketPage,
  tally: Tally,
): Promise<PageResult> {
  if (!(await rereadCommitting(deps, run, venue, p, tally))) return failedPage(p.cursor);
  const refreshBefore = new Date(Date.parse(p.fetchedAt) - run.markRefreshMs).toISOString();
  const plan = planWrites(p.passed, p.stored, {
    evidenceHash: p.evidenceHash,
    fetchedAt: p.fetchedAt,
    refreshBefore,
  });
  p.denied.push(...plan.denied);
  if (!(await storePage(deps, venue, p, plan, run.rulesVersion, tally))) return failedPage(p.cursor);
  await reportPage(deps, run, venue, p, plan.markRows, plan.marks, tally);
  return {
    ok: true,
    next: p.page.next,
    fetched: p.page.rows.length + p.page.skips.length,
    stored: plan.allowed.length,
    blocked: p.blockedIds.length,
    rejected: p.denied.length,
    storedRows: plan.allowed,
    changed: plan.changed.length,
    marksSent: plan.markRows.length,
  };
}

/** A commit that failed: nothing counted, and the run's cursor stays before the page. */
function failedPage(cursor: string | null): PageResult {
  return {
    ok: false,
    rejected: 0,
    next: cursor,
    fetched: 0,
    stored: 0,
    blocked: 0,
    storedRows: [],
    changed: 0,
    marksSent: 0,
  };
}

/**
 * Only what changed is written (planWrites), against the stored states read with the page. Those were read while
 * the previous page's commit could still run: a market that page listed too is read again, after it. Answers false
 * when that read failed.
 */
async function rereadCommitting(
  deps: PipelineDeps,
  run: RunContext,
  venue: MarketVenue,
  p: GatedMarketPage,
  tally: Tally,
): Promise<boolean> {
  const previous = run.committing;
  run.committing = new Set(p.listed);
  const again = p.passed.filter((r) => previous.has(r.marketId)).map((r) => r.marketId);
  if (again.length === 0) return true;
  try {
    const now = await storedStates(deps.db, venue, again);
    for (const id of again) {
      const state = now.get(id);
      if (state) p.stored.set(id, state);
      else p.stored.delete(id);
    }
    return true;
  } catch (error) {
    tally.add("d1_error");
    console.warn(`ingestion: stored state read failed: ${(error as Error)?.message}`);
    return false;
  }
}

/**
 * The page's writes in one batch (runBatches), the rules version read last in the same transaction. Answers whether
 * they were stored under the rules the page was gated by: when the rules were replaced while this run went, its
 * inserts wrote nothing (each checks the version it was gated under), so nothing goes to risk either; the run stops
 * and the next one, under the new rules, takes this page again.
 */
async function storePage(
  deps: PipelineDeps,
  venue: MarketVenue,
  p: GatedMarketPage,
  plan: PageWrites,
  rulesVersion: number,
  tally: Tally,
): Promise<boolean> {
  const { evidenceHash, fetchedAt } = p;
  const { allowed, changed, keys, marks, markRows } = plan;
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
  statements.push(...deleteMarketsStatements(deps.db, venue, p.blockedIds));
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
      url: p.url,
      evidenceHash,
      detail: String((error as Error)?.message).slice(0, 300),
    });
    return false;
  }
  if (current !== rulesVersion) {
    tally.add("rules_changed");
    return false;
  }
  return true;
}

/**
 * After the page is stored: its new blocks audited, then recorded (so they are audited once per rules version); the
 * markets skipped and those denied audited; the marks due sent to risk.
 */
async function reportPage(
  deps: PipelineDeps,
  run: RunContext,
  venue: MarketVenue,
  p: GatedMarketPage,
  markRows: StoredMarketRow[],
  marks: Map<string, string>,
  tally: Tally,
): Promise<void> {
  const { evidenceHash, blockedEvents, denied } = p;
  if (blockedEvents.length > 0) {
    const r = await auditMany(deps, blockedEvents);
    if (r) {
      await recordBlocksStatement(
        deps.db,
        venue,
        blockedEvents.map((e) => [e.marketId as string, (e.rule as { id: string }).id]),
        run.rulesVersion,
        evidenceHash,
        p.fetchedAt,
      )
        .run()
        .catch(() => tally.add("d1_error"));
      for (const e of blockedEvents) run.alreadyBlocked.add(`${e.marketId}|${(e.rule as { id: string }).id}`);
    } else {
      tally.add("audit_failed");
    }
  }
  if (p.page.skips.length > 0) await auditSkips(deps, tally, venue, p.url, evidenceHash, p.page.skips);
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
}
