import type { StrategyState } from "@paulp/contracts";

/**
 * Every allowed strategy move, in one table. `receipt` marks the only move that needs a redeemed
 * two-person approval (going live); `goLiveRequest` the moves that open one. Anything absent is refused.
 */
export const STRATEGY_TRANSITIONS: Record<
  StrategyState,
  Partial<Record<StrategyState, "direct" | "goLiveRequest" | "receipt">>
> = {
  draft: { paper: "direct", retired: "direct" },
  paper: { pending_live: "goLiveRequest", paused: "direct", retired: "direct" },
  // Back to paper when the go-live request is rejected or lapses; live only with a receipt.
  pending_live: { live: "receipt", paper: "direct", paused: "direct", retired: "direct" },
  live: { paused: "direct", retired: "direct" },
  // Resuming live is a new go-live: it needs its own approval.
  paused: { paper: "direct", pending_live: "goLiveRequest", retired: "direct" },
  retired: {},
};

/** How a move is allowed, or an error naming the current state. */
export function checkTransition(
  from: StrategyState,
  to: StrategyState,
): { ok: true; via: "direct" | "goLiveRequest" | "receipt" } | { ok: false; message: string } {
  const via = STRATEGY_TRANSITIONS[from][to];
  if (!via) return { ok: false, message: `strategy is ${from}; ${from} → ${to} is not allowed` };
  return { ok: true, via };
}

/** Compare dollar decimal strings exactly (no floats): negative when a < b. */
export function compareDollars(a: string, b: string): number {
  const cents = (s: string) => {
    const [whole, frac = ""] = s.split(".");
    return BigInt(whole!) * 100n + BigInt(`${frac}00`.slice(0, 2));
  };
  const d = cents(a) - cents(b);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}
