// A venue run's walk of its pages: each page prepared (page.ts) while the page before it commits, one commit in
// flight, the cursor moved only past committed pages; a page fetched ahead that the run does not take is dropped.
import type { MarketVenue } from "@paulp/contracts";
import type { PipelineDeps, Tally } from "./deps";
import { dropAhead, preparePage, type RunContext } from "./page";
import type { PageResult } from "./page-commit";
import type { StateRow } from "./run-record";

/** How a run crawls the venue's markets, and the URL of a page given the cursor it is asked from. */
export interface Crawl {
  /** Kalshi's markets whose metadata changed since `metadata_since`, instead of a full pass from the stored cursor. */
  incremental: boolean;
  urlOf: (pageCursor: string | null) => string;
}

/** Where a run's walk of the venue's pages stands: counts of committed pages, and rows refused by any page. */
export interface Walk {
  /**
   * The full pass's cursor: moved on as a page's commit starts, put back if that commit fails, so what is saved is
   * past committed pages only (an incremental crawl leaves it alone).
   */
  cursor: string | null;
  /** The incremental crawl's cursor, and whether that crawl came to its end. */
  incrementalCursor: string | null;
  incrementalDone: boolean;
  /** The page whose commit runs while the next page is fetched, with the cursor from before that page. */
  inflight: { cursorBefore: string | null; done: Promise<PageResult> } | null;
  pages: number;
  fetched: number;
  stored: number;
  changed: number;
  marksSent: number;
  blocked: number;
  rejected: number;
  failed: boolean;
  passCompleted: boolean;
}

/** A walk from where the stored pass stands, nothing taken yet. */
export function startWalk(state: StateRow | null): Walk {
  return {
    cursor: state?.cursor ?? null,
    incrementalCursor: null,
    incrementalDone: false,
    inflight: null,
    pages: 0,
    fetched: 0,
    stored: 0,
    changed: 0,
    marksSent: 0,
    blocked: 0,
    rejected: 0,
    failed: false,
    passCompleted: false,
  };
}

/**
 * Take up to `maxPages` pages, each prepared (fetched, read, gated, planned) while the page before it commits: one
 * commit in flight, and the cursor saved only past committed pages. The walk stops at the end of the pass (or of the
 * incremental crawl), at a page that could not be prepared (its fetch, parse or evidence record failed; the lease
 * lost; a cursor the venue refused is dropped) or at a commit that failed; the last commit is settled before it
 * returns.
 */
export async function walkPages(
  deps: PipelineDeps,
  venue: MarketVenue,
  run: RunContext,
  { incremental, urlOf }: Crawl,
  maxPages: number,
  walk: Walk,
  tally: Tally,
): Promise<void> {
  for (let i = 0; i < maxPages; i++) {
    // Each page renews the run's lease with its reads (preparePage): one read after losing it is not committed.
    const pageCursor = incremental ? walk.incrementalCursor : walk.cursor;
    const url = urlOf(pageCursor);
    // The page after this one is fetched while this one is stored, unless this is the last the run may take.
    run.urlAfter = i + 1 < maxPages ? urlOf : null;
    const prep = await preparePage(deps, run, venue, url, pageCursor, tally);
    if (!(await settle(walk, incremental))) break;
    if (!prep.ok) {
      walk.rejected += prep.rejected;
      walk.failed = true;
      if (prep.resetCursor && !incremental) {
        tally.add("cursor_reset");
        walk.cursor = null;
      }
      break;
    }
    walk.inflight = { cursorBefore: walk.cursor, done: prep.commit() };
    if (incremental) {
      walk.incrementalCursor = prep.next;
      if (walk.incrementalCursor === null) {
        walk.incrementalDone = true;
        break;
      }
    } else {
      walk.cursor = prep.next;
      if (walk.cursor === null) {
        walk.passCompleted = true;
        break;
      }
    }
  }
  await settle(walk, incremental);
}

/**
 * Wait for the commit in flight, if any, and count its page; a commit that failed fails the run and puts the cursor
 * back to before its page (an incremental crawl is then not done). Answers whether the walk may go on.
 */
async function settle(walk: Walk, incremental: boolean): Promise<boolean> {
  if (!walk.inflight) return true;
  const { cursorBefore, done } = walk.inflight;
  walk.inflight = null;
  const r = await done;
  if (!r.ok) {
    walk.rejected += r.rejected;
    walk.failed = true;
    if (incremental) walk.incrementalDone = false;
    else walk.cursor = cursorBefore;
    walk.passCompleted = false;
    return false;
  }
  walk.pages++;
  walk.fetched += r.fetched;
  walk.stored += r.stored;
  walk.changed += r.changed;
  walk.marksSent += r.marksSent;
  walk.blocked += r.blocked;
  walk.rejected += r.rejected;
  return true;
}

/**
 * A run that stopped early (a page failed, the lease was lost) may hold the next page, fetched ahead: its evidence
 * is recorded, nothing of it stored. The lookups after a pass fetch nothing ahead.
 */
export async function dropPageAhead(deps: PipelineDeps, run: RunContext, tally: Tally): Promise<void> {
  run.urlAfter = null;
  const ahead = run.ahead;
  run.ahead = null;
  if (ahead) await dropAhead(deps, tally, ahead);
}
