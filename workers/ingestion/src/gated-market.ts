// Stored markets, books and marks as the RPC serves them: each checked again against the rules in force now, so a
// rule added since the market was ingested refuses it at once. The time (`now`, epoch ms) is passed in.
import {
  ErrorCode,
  err,
  type MarketQuery,
  type MarketRecord,
  type MarkPrice,
  type OrderBookSnapshot,
  ok,
  type Result,
} from "@paulp/contracts";
import { gateWithCurrentRules } from "./compliance";
import {
  getBookRow,
  getMarketRow,
  getMarkRow,
  lastSeen,
  listMarketRows,
  type MarketAt,
} from "./market-queries";

/** A stored market, checked again against the rules in force now (a rule added since refuses it). */
export async function gatedMarket(
  db: D1Database,
  { venue, marketId, now }: MarketAt,
): Promise<Result<MarketRecord>> {
  const market = await getMarketRow(db, venue, marketId, now);
  if (!market) return err(ErrorCode.notFound, `no stored market ${venue}:${marketId}`);
  const d = (await gateWithCurrentRules(db)).check(market);
  if (d.decision === "allow") return ok(market);
  return d.decision === "block"
    ? err(ErrorCode.complianceBlocked, `blocked by compliance rule ${d.rule.id}`)
    : err(ErrorCode.complianceBlocked, `compliance gate denied: ${d.reason}`);
}

/** `read` of a market the rules in force allow; the gate's refusal otherwise. */
async function ifAllowed<T>(
  db: D1Database,
  m: MarketAt,
  read: (market: MarketRecord) => Promise<Result<T>>,
): Promise<Result<T>> {
  const gated = await gatedMarket(db, m);
  return gated.ok ? read(gated.value) : gated;
}

/** A page of stored markets the rules in force allow, after `after`. */
export async function gatedMarketPage(
  db: D1Database,
  q: MarketQuery,
  after: { venue: string; marketId: string } | undefined,
  now: number,
): Promise<Result<{ markets: MarketRecord[]; next: { venue: string; marketId: string } | null }>> {
  const page = await listMarketRows(
    db,
    {
      venue: q.venue,
      status: q.status,
      search: q.search,
      category: q.category,
      limit: q.limit ?? 100,
      after,
    },
    now,
  );
  // Rows passed the rules in force when their page was ingested: a rule added since hides them here too
  // (as getMarket, books and marks refuse them), and no rules at all lists nothing.
  const agent = await gateWithCurrentRules(db);
  if (agent.unavailable)
    return err(ErrorCode.complianceBlocked, `compliance gate unavailable: ${agent.unavailable}`);
  return ok({ markets: page.markets.filter((m) => agent.check(m).decision === "allow"), next: page.next });
}

/** An allowed market with when it was last seen and the evidence of that sighting. */
export function gatedMarketSeen(db: D1Database, m: MarketAt): Promise<Result<MarketRecord>> {
  return ifAllowed(db, m, async (market) => {
    const seen = await lastSeen(db, m.venue, m.marketId);
    return ok({ ...market, lastSeen: seen ? { at: seen.seenAt, evidenceHash: seen.evidenceHash } : null });
  });
}

/** An allowed market's book: the stored one when younger than `maxAgeSeconds`, else `fetchFresh`'s. */
export function gatedBook(
  db: D1Database,
  m: MarketAt,
  maxAgeSeconds: number,
  fetchFresh: (market: MarketRecord) => Promise<Result<OrderBookSnapshot>>,
): Promise<Result<OrderBookSnapshot>> {
  return ifAllowed(db, m, async (market) => {
    const stored = await getBookRow(db, m);
    if (stored && stored.ageSeconds < maxAgeSeconds) return ok(stored);
    return await fetchFresh(market);
  });
}

/** An allowed market's stored mark. */
export function gatedMark(db: D1Database, m: MarketAt): Promise<Result<MarkPrice>> {
  return ifAllowed(db, m, async () => {
    const mark = await getMarkRow(db, m);
    return mark ? ok(mark) : err(ErrorCode.notFound, `no mark for ${m.venue}:${m.marketId}`);
  });
}
