// The RPC's own input schemas (the others are contracts'): what the entry checks before it delegates.
import {
  MAX_FAST_REFRESH,
  MarketId,
  MarketVenue,
  RawVenueAnswer,
  Sha256Hex,
  TradedMarket,
  Venue,
} from "@paulp/contracts";
import * as v from "valibot";

export const StrategyIdInput = v.pipe(v.string(), v.minLength(1), v.maxLength(128));
export const VenueAndId = v.tuple([MarketVenue, MarketId]);
export const PreTradeInput = v.object({
  venue: Venue,
  marketId: MarketId,
  evidenceHashes: v.pipe(v.array(Sha256Hex), v.maxLength(16)),
});
/** Markets for a fast-path book refresh: Kalshi and Polymarket only. */
export const FastMarkets = v.pipe(
  v.array(
    v.pipe(
      TradedMarket,
      v.check((m) => m.venue !== "ibkr", "books are read for kalshi and polymarket markets"),
    ),
  ),
  v.maxLength(MAX_FAST_REFRESH),
);
/** Instruments of one IBKR snapshot. */
const Instruments = v.pipe(
  v.array(
    v.pipe(
      TradedMarket,
      v.check((m) => m.venue === "ibkr", "IBKR instruments only"),
    ),
  ),
  v.minLength(1),
  v.maxLength(MAX_FAST_REFRESH),
);
/** One IBKR snapshot: the gateway's answer and the instruments it was asked for. */
export const IbkrSnapshotInput = v.object({ answer: RawVenueAnswer, instruments: Instruments });

export const MaxAge = v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(86_400)), 10);
