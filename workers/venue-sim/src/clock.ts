// The simulator's clock: the wall clock plus an offset a test moves forward (dev/test only), so a test of
// something that lapses with time (the IBKR session's idle timeout) advances the venue's time instead of
// waiting for it. Every handler reads time through `SimContext.now`.
import * as v from "valibot";

const OFFSET_KEY = "clock_offset_ms";

/** `POST /__sim/clock`: move the clock forward by `advanceMs` (never back: venues' time does not rewind). */
const Advance = v.object({
  advanceMs: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(86_400_000)),
});

/** The stored offset (0 until a test advances the clock). */
export async function loadClockOffset(storage: DurableObjectStorage): Promise<number> {
  return (await storage.get<number>(OFFSET_KEY)) ?? 0;
}

/**
 * `/__sim/clock`: `GET` answers `{ now, offsetMs }`; `POST { advanceMs }` moves the clock forward; `DELETE`
 * puts it back on the wall clock. Answers the new offset (for the caller to keep), or null for another path.
 */
export async function handleClockAdmin(
  request: Request,
  url: URL,
  storage: DurableObjectStorage,
  offsetMs: number,
): Promise<{ response: Response; offsetMs: number } | null> {
  if (url.pathname !== "/__sim/clock") return null;
  const answer = (offset: number, status = 200) => ({
    response: Response.json({ now: Date.now() + offset, offsetMs: offset }, { status }),
    offsetMs: offset,
  });
  if (request.method === "GET") return answer(offsetMs);
  if (request.method === "DELETE") {
    await storage.delete(OFFSET_KEY);
    return answer(0);
  }
  if (request.method !== "POST")
    return { response: Response.json({ error: "method not allowed" }, { status: 405 }), offsetMs };
  const parsed = v.safeParse(Advance, await request.json().catch(() => null));
  if (!parsed.success)
    return { response: Response.json({ error: parsed.issues[0].message }, { status: 400 }), offsetMs };
  const next = offsetMs + parsed.output.advanceMs;
  await storage.put(OFFSET_KEY, next);
  return answer(next);
}
