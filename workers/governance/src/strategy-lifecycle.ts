import type { StrategyState } from "@paulp/contracts";
import { parseFixed } from "@paulp/kit";

/** How a move is made: `direct` (no approval), `goLiveRequest` (opens the go-live request), `receipt` (going live
 * with a redeemed two-person approval) or `endsRequest` (leaves pending_live and ends its open go-live request). */
export type StrategyMove = "direct" | "goLiveRequest" | "receipt" | "endsRequest";

/**
 * Every allowed strategy move, in one table, together with what it does to the go-live request. Anything absent
 * is refused. A strategy is pending_live exactly while its go-live request is open: every way out of
 * pending_live but going live ends the request (cancelled), and a request that ends by itself (rejected,
 * expired) takes the strategy back to the state it left (paper or paused) through the same `endsRequest` move.
 */
export const STRATEGY_TRANSITIONS: Record<StrategyState, Partial<Record<StrategyState, StrategyMove>>> = {
  draft: { paper: "direct", retired: "direct" },
  paper: { pending_live: "goLiveRequest", paused: "direct", retired: "direct" },
  pending_live: { live: "receipt", paper: "endsRequest", paused: "endsRequest", retired: "endsRequest" },
  live: { paused: "direct", retired: "direct" },
  // Resuming live is a new go-live: it needs its own approval.
  paused: { paper: "direct", pending_live: "goLiveRequest", retired: "direct" },
  retired: {},
};

/** How a move is allowed, or an error naming the current state. */
export function checkTransition(
  from: StrategyState,
  to: StrategyState,
): { ok: true; via: StrategyMove } | { ok: false; message: string } {
  const via = STRATEGY_TRANSITIONS[from][to];
  if (!via) return { ok: false, message: `strategy is ${from}; ${from} → ${to} is not allowed` };
  return { ok: true, via };
}

/**
 * Compare two allocations exactly, in cents (kit's fixed point; AllocationString allows at most 2 decimals and 12
 * digits, so a safe integer): negative when a < b. A string that is not one is kit's `MoneyError`.
 */
export function compareDollars(a: string, b: string): number {
  return Math.sign(parseFixed(a, 2) - parseFixed(b, 2));
}
