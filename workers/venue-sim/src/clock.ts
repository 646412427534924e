// The simulator's clock: the wall clock plus an offset a test moves forward (dev/test only), so a test of
// something that lapses with time (the IBKR session's idle timeout) advances the venue's time instead of
// waiting for it. Market data (prices, books, market statuses) can be held at one moment while the rest runs on
// (signature freshness, sessions, rate limits, order times), so a test that must see the venues' prices stand (the
// browser tests' set-up trades on a book that must not move between the loop's decision and its fill) sees them
// stand and its signed requests still pass. Handlers read time through `SimContext.now` and `.marketNow`.
import * as v from "valibot";

const OFFSET_KEY = "clock_offset_ms";
const HELD_KEY = "clock_markets_held_at";

/** The simulator's clock: the offset a test moved it forward by, and the moment market data is held at (null: live). */
export interface SimClock {
  offsetMs: number;
  marketsHeldAt: number | null;
}

/**
 * `POST /__sim/clock`: move the clock forward by `advanceMs` (never back: venues' time does not rewind), or hold
 * market data still (`marketsHeld`).
 */
const ClockChange = v.union([
  v.strictObject({ advanceMs: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(86_400_000)) }),
  v.strictObject({ marketsHeld: v.boolean() }),
]);

/** The stored clock (the wall clock, running, until a test changes it). */
export async function loadClock(storage: DurableObjectStorage): Promise<SimClock> {
  const stored = await storage.get([OFFSET_KEY, HELD_KEY]);
  return {
    offsetMs: (stored.get(OFFSET_KEY) as number | undefined) ?? 0,
    marketsHeldAt: (stored.get(HELD_KEY) as number | undefined) ?? null,
  };
}

/** What time it is on the simulator's clock. */
export function clockNow(clock: SimClock): number {
  return Date.now() + clock.offsetMs;
}

/** The time market data is answered at: the held moment, or now. */
export function marketNow(clock: SimClock): number {
  return clock.marketsHeldAt ?? clockNow(clock);
}

/**
 * `/__sim/clock`: `GET` answers `{ now, offsetMs, marketsHeldAt }`; `POST { advanceMs }` moves the clock forward
 * (held market data too); `POST { marketsHeld: true }` holds market data where it is now, `{ marketsHeld: false }`
 * lets it run again (at the clock: it jumps forward by the time it was held, never back); `DELETE` puts the clock
 * back on the wall clock, markets live. Answers the new clock (for the caller to keep), or null for another path.
 */
export async function handleClockAdmin(
  request: Request,
  url: URL,
  storage: DurableObjectStorage,
  clock: SimClock,
): Promise<{ response: Response; clock: SimClock } | null> {
  if (url.pathname !== "/__sim/clock") return null;
  const answer = (next: SimClock, status = 200) => ({
    response: Response.json(
      { now: clockNow(next), offsetMs: next.offsetMs, marketsHeldAt: next.marketsHeldAt },
      { status },
    ),
    clock: next,
  });
  if (request.method === "GET") return answer(clock);
  if (request.method === "DELETE") {
    await storage.delete([OFFSET_KEY, HELD_KEY]);
    return answer({ offsetMs: 0, marketsHeldAt: null });
  }
  if (request.method !== "POST")
    return { response: Response.json({ error: "method not allowed" }, { status: 405 }), clock };
  const parsed = v.safeParse(ClockChange, await request.json().catch(() => null));
  if (!parsed.success)
    return {
      response: Response.json(
        { error: `expected { advanceMs } or { marketsHeld }: ${parsed.issues[0].message}` },
        { status: 400 },
      ),
      clock,
    };
  let next: SimClock;
  if ("advanceMs" in parsed.output) {
    const advanceMs = parsed.output.advanceMs;
    next = {
      offsetMs: clock.offsetMs + advanceMs,
      marketsHeldAt: clock.marketsHeldAt === null ? null : clock.marketsHeldAt + advanceMs,
    };
  } else if (parsed.output.marketsHeld) next = { ...clock, marketsHeldAt: marketNow(clock) };
  else next = { ...clock, marketsHeldAt: null };
  await storage.put(OFFSET_KEY, next.offsetMs);
  if (next.marketsHeldAt === null) await storage.delete(HELD_KEY);
  else await storage.put(HELD_KEY, next.marketsHeldAt);
  return answer(next);
}
