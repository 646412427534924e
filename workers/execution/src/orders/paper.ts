import type { OrderBookSnapshot, OrderIntent, OrderState, Result } from "@paulp/contracts";
import { formatDollars, parseDollars, parseQuantity, worstCaseFee } from "@paulp/kit";
import { paperFill } from "@paulp/strategy";
import { stateForFills } from "./state";

/** A paper order's outcome, decided before anything is recorded. */
export interface PaperPlan {
  state: OrderState;
  reason: string;
  filled: number;
  avgPrice: string | null;
  fee: string;
}

/**
 * The paper outcome of an intent against the book read beforehand (pure: nothing is written). IOC: the
 * crossed part fills, the rest is cancelled.
 */
export function planPaper(intent: OrderIntent, book: Result<OrderBookSnapshot> | null): PaperPlan {
  if (intent.venue === "ibkr") {
    // No ingested IBKR book: paper hedges fill at their limit (documented approximation), charged the
    // commission schedule a live fill would pay, never nothing.
    return {
      state: "filled",
      reason: "paper fill at limit (no IBKR book)",
      filled: intent.quantity,
      avgPrice: intent.limitPrice,
      fee: formatDollars(
        worstCaseFee("ibkr", parseQuantity(intent.quantity), parseDollars(intent.limitPrice)),
        4,
        "ceil",
      ),
    };
  }
  if (!book?.ok) {
    return {
      state: "rejected",
      reason: `paper: no book: ${book ? book.error.message : "not fetched"}`,
      filled: 0,
      avgPrice: null,
      fee: "0.0000",
    };
  }
  const f = paperFill(book.value, intent.side, intent.quantity, intent.limitPrice, intent.venue === "kalshi");
  return {
    state: stateForFills(intent.quantity, f.filled, false),
    reason:
      f.filled < intent.quantity
        ? `paper IOC: ${f.filled}/${intent.quantity} crossed, rest cancelled (book ${book.value.evidenceHash})`
        : `paper fill (book ${book.value.evidenceHash})`,
    filled: f.filled,
    avgPrice: f.avgPrice,
    fee: f.fee,
  };
}
