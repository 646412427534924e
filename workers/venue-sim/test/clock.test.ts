// The simulator's clock (`/__sim/clock`, src/clock.ts): moved forward; market data held at one moment while the
// clock itself runs on (signatures, sessions, rate limits), then let run again. A CLOB book's `timestamp` is the
// moment the simulator answered its market data at.
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";

const sim = () => (exports as unknown as { default: Fetcher }).default;
const CLOCK = "https://venue-sim.local/__sim/clock";

interface ClockView {
  now: number;
  offsetMs: number;
  marketsHeldAt: number | null;
}

const clock = async (init?: RequestInit): Promise<{ status: number; body: ClockView }> => {
  const res = await sim().fetch(CLOCK, init);
  return { status: res.status, body: (await res.json()) as ClockView };
};
const change = (body: unknown) => clock({ method: "POST", body: JSON.stringify(body) });

/** A CLOB book's time: the moment the simulator answered its market data at. */
async function bookTime(): Promise<number> {
  const [m] = (await (await sim().fetch("https://gamma-api.polymarket.com/markets?limit=1")).json()) as {
    clobTokenIds: string;
  }[];
  const yes = JSON.parse(m!.clobTokenIds)[0] as string;
  const book = (await (await sim().fetch(`https://clob.polymarket.com/book?token_id=${yes}`)).json()) as {
    timestamp: string;
  };
  return Number(book.timestamp);
}

afterEach(async () => {
  await sim().fetch(CLOCK, { method: "DELETE" });
});

describe("the simulator's clock", () => {
  it("holds market data at one moment while the clock runs on; moved forward while held, both move by exactly that", async () => {
    const held = await change({ marketsHeld: true });
    expect(held).toMatchObject({ status: 200, body: { offsetMs: 0 } });
    const at = held.body.marketsHeldAt!;
    expect(at).toBeGreaterThan(0);
    expect(await bookTime()).toBe(at);
    expect(await bookTime()).toBe(at);
    // The clock itself runs on (what signatures and sessions are judged by).
    expect((await clock()).body.now).toBeGreaterThanOrEqual(at);
    const moved = (await change({ advanceMs: 60_000 })).body;
    expect(moved).toMatchObject({ offsetMs: 60_000, marketsHeldAt: at + 60_000 });
    expect(await bookTime()).toBe(at + 60_000);
    // Held again: it stays where it is.
    expect((await change({ marketsHeld: true })).body.marketsHeldAt).toBe(at + 60_000);
  });

  it("let run again, market data jumps forward to the clock, never back; DELETE puts all back on the wall clock", async () => {
    const at = (await change({ marketsHeld: true })).body.marketsHeldAt!;
    const live = await change({ marketsHeld: false });
    expect(live.body.marketsHeldAt).toBeNull();
    expect(await bookTime()).toBeGreaterThanOrEqual(at);
    const reset = await clock({ method: "DELETE" });
    expect(reset.body).toMatchObject({ offsetMs: 0, marketsHeldAt: null });
  });

  it("refuses what is neither a move forward nor a hold, and changes nothing", async () => {
    for (const body of [{ advanceMs: -1 }, { marketsHeld: "yes" }, { advanceMs: 1, marketsHeld: true }, {}]) {
      const refused = await change(body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
    }
    expect((await clock()).body).toMatchObject({ offsetMs: 0, marketsHeldAt: null });
  });
});
