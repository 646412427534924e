// The pure middle of a page: its bytes through the venue's parser, its rows through the compliance gate, and what
// of it to write (rows whose content changed, marks that are due). Nothing here knows of D1, R2, the network or
// the clock: the fetch time and the stored state come in as values, so a replay of recorded evidence (#18) runs
// the very same code.
import type { AuditPayload, MarketVenue } from "@paulp/contracts";
import {
  GammaKeysetPage,
  gammaPage,
  isKalshiMarketsPage,
  KalshiMarketsPage,
  type KalshiParsedPage,
  type MarketPage,
  type MarketRow,
  markFrom,
  parseBody,
  parseKalshiMarkets,
  type StoredMarketRow,
} from "@paulp/venue-decode";
import type { ComplianceAgent } from "./compliance";
import { contentKey } from "./row-content";
import type { StoredState } from "./store";
import { termsWellFormed } from "./terms";

/** A page's bytes decoded by its venue's parser, or why they cannot be used. */
export type DecodedPage =
  | { ok: true; value: KalshiParsedPage | MarketPage }
  | {
      ok: false;
      kind: string;
      detail: string /** The venue gave back the cursor it was sent. */;
      stuck: boolean;
    };

function mapParsed<T, U>(
  r: { ok: true; value: T } | { ok: false; kind: string; detail: string },
  f: (v: T) => U,
): { ok: true; value: U } | { ok: false; kind: string; detail: string } {
  return r.ok ? { ok: true, value: f(r.value) } : r;
}

/**
 * Decode one markets page (Kalshi `GET /markets`, gamma `GET /markets/keyset`). A next cursor equal to the one
 * sent (`cursorSent`) would fetch this page forever: that is a failure too (`cursor_not_advancing`, `stuck`).
 */
export function decodePage(venue: MarketVenue, bytes: Uint8Array, cursorSent: string | null): DecodedPage {
  const decoded =
    venue === "kalshi"
      ? mapParsed(parseBody(KalshiMarketsPage, bytes, isKalshiMarketsPage), parseKalshiMarkets)
      : mapParsed(parseBody(GammaKeysetPage, bytes), gammaPage);
  if (!decoded.ok) return { ...decoded, stuck: false };
  if (cursorSent !== null && decoded.value.next === cursorSent)
    return {
      ok: false,
      kind: "cursor_not_advancing",
      detail: "the next cursor is the cursor sent",
      stuck: true,
    };
  return decoded;
}

/** A page's rows as the compliance gate judged them. */
export interface GatedPage {
  passed: MarketRow[];
  blockedIds: string[];
  /** `compliance.blocked` payloads for blocks not recorded before under these rules. */
  blockedEvents: AuditPayload<"ingestion", "compliance.blocked">[];
  denied: { marketId: string; reason: string }[];
}

/** Judge every row: allowed, blocked by a rule (audited once per market and rule), or denied. */
export function gateRows(
  rows: MarketRow[],
  agent: Pick<ComplianceAgent, "check">,
  alreadyBlocked: ReadonlySet<string>,
  at: { venue: MarketVenue; rulesVersion: number; evidenceHash: string },
): GatedPage {
  const gated: GatedPage = { passed: [], blockedIds: [], blockedEvents: [], denied: [] };
  for (const row of rows) {
    const decision = agent.check(row);
    if (decision.decision === "allow") {
      gated.passed.push(row);
    } else if (decision.decision === "block") {
      gated.blockedIds.push(row.marketId);
      const key = `${row.marketId}|${decision.rule.id}`;
      if (!alreadyBlocked.has(key)) {
        gated.blockedEvents.push({
          venue: at.venue,
          marketId: row.marketId,
          title: row.title.slice(0, 200),
          rule: decision.rule,
          rulesVersion: at.rulesVersion,
          evidenceHash: at.evidenceHash,
        });
      }
    } else {
      gated.denied.push({ marketId: row.marketId, reason: decision.reason });
    }
  }
  return gated;
}

/** What a page writes: every allowed row (seen), the changed ones with their content keys, the marks due. */
export interface PageWrites {
  allowed: StoredMarketRow[];
  changed: StoredMarketRow[];
  keys: Map<string, string>;
  marks: Map<string, string>;
  markRows: StoredMarketRow[];
  /** Rows the gate allowed that cannot be represented (their terms hold a lone surrogate: no RFC 8785 form). */
  denied: { marketId: string; reason: string }[];
}

/**
 * Only what changed is written: each row's content key (its terms' fingerprint and its other content,
 * row-content.ts) against the stored one. A mark is due when it changed with its row, or when the one risk holds was
 * observed before `refreshBefore` and would otherwise age past risk's freshness limit before the next snapshot; an
 * unchanged, fresh one is not resent.
 */
export function planWrites(
  passed: MarketRow[],
  stored: ReadonlyMap<string, StoredState>,
  snapshot: { evidenceHash: string; fetchedAt: string; refreshBefore: string },
): PageWrites {
  const w: PageWrites = {
    allowed: [],
    changed: [],
    keys: new Map(),
    marks: new Map(),
    markRows: [],
    denied: [],
  };
  for (const row of passed) {
    // A lone surrogate has no canonical form, so such terms could never be hashed for a pair's review: that market
    // alone is denied, the rest of the page goes on.
    if (!termsWellFormed(row)) {
      w.denied.push({ marketId: row.marketId, reason: "not representable: a lone surrogate in its terms" });
      continue;
    }
    const key = contentKey(row);
    const before = stored.get(row.marketId);
    const isChanged = before?.contentKey !== key;
    const r: StoredMarketRow = { ...row, evidenceHash: snapshot.evidenceHash, fetchedAt: snapshot.fetchedAt };
    w.allowed.push(r);
    if (isChanged) {
      w.changed.push(r);
      w.keys.set(r.marketId, key);
    }
    const m = markFrom(r.yesBid, r.yesAsk, r.lastPrice);
    const ageing = before?.markObservedAt == null || before.markObservedAt < snapshot.refreshBefore;
    if (m !== null && (isChanged || ageing)) {
      w.marks.set(r.marketId, m);
      w.markRows.push(r);
    }
  }
  return w;
}
