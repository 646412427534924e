import { ErrorCode, err, type MarketRecord, type OrderBookSnapshot, ok, type Result } from "@paulp/contracts";
import { clobBookUrl, decodeBook, kalshiOrderbookUrl } from "@paulp/venue-decode";
import { callPeer, type PipelineDeps } from "./deps";
import { markEvidence } from "./evidence";
import { putBookStatement } from "./store";
import { fetchVenue } from "./venue-reads";

/** Fetch a market's book through evidence storage, validate it, store it and answer it (YES view, best first). */
export async function fetchFreshBook(
  deps: PipelineDeps,
  market: MarketRecord,
): Promise<Result<OrderBookSnapshot>> {
  const yesToken = market.outcomeTokens?.[0];
  if (market.venue === "polymarket" && !yesToken) return err(ErrorCode.notFound, "market has no YES token");
  const url = market.venue === "kalshi" ? kalshiOrderbookUrl(market.marketId) : clobBookUrl(yesToken!);
  const outcome = await fetchVenue(deps, market.venue, url);
  if (!outcome.ok) {
    if (outcome.evidenceHash)
      await markEvidence(deps.db, outcome.evidenceHash, "rejected", outcome.kind)
        .run()
        .catch(() => {});
    await countFeedFailure(deps, market, `${outcome.kind} ${outcome.detail}`);
    const code =
      outcome.kind === "rate_limited"
        ? ErrorCode.rateLimited
        : outcome.kind === "timeout"
          ? ErrorCode.upstreamTimeout
          : ErrorCode.upstreamError;
    return err(code, `order book fetch failed: ${outcome.kind} ${outcome.detail}`);
  }
  const decoded = decodeBook(market, yesToken, outcome.response.bytes);
  if (!decoded.ok) return reject(deps, market, outcome.evidenceHash, decoded);
  const { book } = decoded;
  const snapshot = {
    venue: market.venue,
    marketId: market.marketId,
    bids: book.bids,
    asks: book.asks,
    evidenceHash: outcome.evidenceHash,
    fetchedAt: new Date(deps.now()).toISOString(),
  };
  await deps.db.batch([
    putBookStatement(deps.db, snapshot),
    markEvidence(deps.db, outcome.evidenceHash, "accepted", null),
  ]);
  return ok({ ...snapshot, ageSeconds: 0 });
}

/**
 * A book the venue did not deliver, or delivered unusable (garbage, another market's), is a market-data failure:
 * the breaker counts it as `venue_api_error`, as it counts failed ingestion runs. A good book does not reset the
 * count (ingestion's healthy runs do), so healthy books cannot hide a failing market listing.
 */
async function countFeedFailure(deps: PipelineDeps, market: MarketRecord, detail: string): Promise<void> {
  await callPeer(
    deps,
    "risk.reportFailure",
    () =>
      deps.risk!.reportFailure(
        "venue_api_error",
        `${market.venue} order book ${market.marketId}: ${detail}`.slice(0, 500),
        deps.actor,
      ),
    !!deps.risk,
  );
}

async function reject(
  deps: PipelineDeps,
  market: MarketRecord,
  hash: string,
  p: { kind: string; detail: string },
): Promise<Result<never>> {
  await Promise.all([
    markEvidence(deps.db, hash, "rejected", `${p.kind}: ${p.detail}`)
      .run()
      .catch(() => {}),
    countFeedFailure(deps, market, `rejected (${p.kind}): ${p.detail}`),
  ]);
  return err(ErrorCode.upstreamError, `order book rejected (${p.kind}): ${p.detail}`, { evidenceHash: hash });
}
