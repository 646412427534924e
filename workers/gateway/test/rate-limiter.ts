import { env } from "cloudflare:workers";
import type { Env } from "../src/env";

/** The test's clock for the rate limiters: it moves only when the test moves it. */
export interface LimiterClock {
  nowMs: number;
}

/**
 * Cloudflare's simple rate limiter as Miniflare runs it locally (a count per key in fixed windows of `period`
 * seconds aligned to the epoch), on a clock the test moves: the platform's own binding reads workerd's wall
 * clock, so a window could end in the middle of a test. The limits are the ones wrangler.jsonc configures.
 */
class WindowedLimiter implements RateLimit {
  private window = Number.NaN;
  private readonly counts = new Map<string, number>();
  constructor(
    private readonly config: { limit: number; period: number },
    private readonly clock: LimiterClock,
  ) {}
  async limit({ key }: RateLimitOptions): Promise<RateLimitOutcome> {
    const window = Math.floor(this.clock.nowMs / (this.config.period * 1000));
    if (window !== this.window) {
      this.window = window;
      this.counts.clear();
    }
    const count = this.counts.get(key) ?? 0;
    if (count >= this.config.limit) return { success: false };
    this.counts.set(key, count + 1);
    return { success: true };
  }
}

/** The gateway's three failed-authentication limiters, fresh, on `clock` (which starts a window at 0). */
export function limitersOn(
  clock: LimiterClock,
): Pick<Env, "AUTH_FAILURES" | "AUTH_FAILURES_ALL" | "AUTH_FAILURE_AUDIT"> {
  const limiter = (name: string) => {
    const config = env.TEST_RATE_LIMITS[name];
    if (!config) throw new Error(`wrangler.jsonc configures no rate limit ${name}`);
    return new WindowedLimiter(config, clock);
  };
  return {
    AUTH_FAILURES: limiter("AUTH_FAILURES"),
    AUTH_FAILURES_ALL: limiter("AUTH_FAILURES_ALL"),
    AUTH_FAILURE_AUDIT: limiter("AUTH_FAILURE_AUDIT"),
  };
}
