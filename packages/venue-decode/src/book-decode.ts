// A venue's order-book answer decoded into the YES view, best first: pure (bytes and the market in, the book or why
// not out), so the fast path and a replay of stored evidence (#18) run the same parser.
import type { MarketRecord } from "@paulp/contracts";
import { KalshiOrderbook, kalshiYesBook } from "./kalshi";
import { parseBody } from "./parse";
import { ClobBook, clobYesBook } from "./polymarket";
import type { YesBook } from "./types";

/** Decode `bytes` as `market`'s book (Kalshi `GET /markets/{ticker}/orderbook`, CLOB `GET /book` of its YES token). */
export function decodeBook(
  market: Pick<MarketRecord, "venue" | "marketId">,
  yesToken: string | undefined,
  bytes: Uint8Array,
): { ok: true; book: YesBook } | { ok: false; kind: string; detail: string } {
  if (market.venue === "kalshi") {
    const p = parseBody(KalshiOrderbook, bytes);
    return p.ok ? { ok: true, book: kalshiYesBook(p.value) } : p;
  }
  const p = parseBody(ClobBook, bytes);
  if (!p.ok) return p;
  if (p.value.asset_id !== yesToken)
    return { ok: false, kind: "schema", detail: "book is for another token" };
  if (p.value.market.toLowerCase() !== market.marketId)
    return { ok: false, kind: "schema", detail: "book is for another market" };
  return { ok: true, book: clobYesBook(p.value) };
}
