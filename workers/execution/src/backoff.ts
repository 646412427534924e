/**
 * Backing off a trading API that rate-limits us (pure; the order manager keeps one per venue). Each 429 in a
 * row doubles the time we stay away, from 1 s up to 60 s; a successful call ends the streak. Kalshi's 429 has
 * no Retry-After (docs.kalshi.com rate limits), and its buckets refill per second, so the first wait is 1 s.
 */
export interface Backoff {
  /** 429s in a row. */
  streak: number;
  /** No trading request to the venue before this time (epoch ms). */
  untilMs: number;
}

export const BACKOFF_FIRST_MS = 1_000;
export const BACKOFF_MAX_MS = 60_000;

/** The backoff after one more 429 at `nowMs`. */
export function afterRateLimit(previous: Backoff | null, nowMs: number): Backoff {
  const streak = (previous?.streak ?? 0) + 1;
  const waitMs = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(streak - 1, 16));
  return { streak, untilMs: nowMs + waitMs };
}

/** Milliseconds left before the venue may be called again (0: now). */
export function backoffLeftMs(backoff: Backoff | null, nowMs: number): number {
  return backoff ? Math.max(0, backoff.untilMs - nowMs) : 0;
}
