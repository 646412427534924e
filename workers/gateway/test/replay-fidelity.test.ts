// Replay fidelity (#18): the replay of the seeded strategy over the minutes the trading loop traded places the
// orders the loop placed. Everything through the real workers: ingestion's crawl and the LLM assessment (venue and
// Anthropic simulators), a reviewer's approval, the loop (execution → risk → order manager, paper), then a replay of
// the same window (ingestion's runner, the engine over the fetch log). The crawl that told ingestion the legs'
// events and series runs before the window, as in `pnpm dev`: the window holds only the loop's book reads.
import { untilSettled } from "@paulp/testing/until";
import { describe, expect, it } from "vitest";
import { adminFetch, approvedPairs, json, post } from "./helpers";

interface Order {
  intent: { market: string; side: string; quantity: number; limitPrice: string };
  mode: string;
  state: string;
  filledQuantity: number;
}
interface Trade {
  marketId: string;
  side: string;
  quantity: number;
  limitPrice: string;
  filled: number;
}

const key = (x: { market: string; side: string; quantity: number; limitPrice: string }) =>
  `${x.market} ${x.side} ${x.quantity} @ ${x.limitPrice}`;

describe("a replay of the loop's minutes (#18 fidelity)", () => {
  // A crawl, the LLM assessment, the loop and a replay: well over the default on a loaded machine.
  it("places the orders the loop placed, from the same books", { timeout: 180_000 }, async () => {
    expect(await approvedPairs()).toBeGreaterThan(0);
    const created = await json<{ id: string }>(
      adminFetch(
        "/admin/strategies",
        post({
          name: "Fidelity",
          kind: "cross_venue_rv",
          allocation: "10000.00",
          venues: ["kalshi", "polymarket"],
          params: {},
        }),
      ),
    );
    await json(adminFetch(`/admin/strategies/${created.id}/paper`, { method: "POST" }));

    // The window starts after the crawl: the loop's own book reads are all the evidence in it.
    const from = new Date(Date.now() - 1).toISOString();
    const loop = await json<{ signals: number; submitted: string[]; denied: unknown[] }>(
      adminFetch("/admin/execution/run", { method: "POST" }),
    );
    expect(loop.signals).toBeGreaterThan(0);
    expect(loop.submitted.length).toBeGreaterThan(0);
    const { orders } = await json<{ orders: Order[] }>(adminFetch("/admin/orders?limit=100"));
    // The loop's Kalshi orders (an IBKR hedge's market is its conid; the replay places no hedges).
    const placed = orders.filter((o) => o.mode === "paper" && !/^\d+$/.test(o.intent.market));
    const hedges = orders.filter((o) => /^\d+$/.test(o.intent.market));
    expect(placed.length).toBe(loop.submitted.length - hedges.length);

    const to = new Date(Date.now()).toISOString();
    const started = await json<{ id: string }>(
      adminFetch("/admin/replays", post({ strategyId: created.id, from, to })),
    );
    const done = await untilSettled(
      async () =>
        (
          await json<{ replay: { status: string; failure: unknown } }>(
            adminFetch(`/admin/replays/${started.id}`),
          )
        ).replay,
      (r) => r.status !== "running",
      400,
    );
    expect(done).toMatchObject({ status: "complete" });
    const { report } = await json<{
      report: { summary: { orders: number; denialsByCode: Record<string, number> }; trades: Trade[] };
    }>(adminFetch(`/admin/replays/${started.id}`));
    // No denial for want of a category: the legs' categories are the ones ingestion held before the window.
    expect(report.summary.denialsByCode).not.toHaveProperty("NO_CATEGORY");
    // The same orders: market, side, quantity and limit price.
    expect(report.trades.map((t) => key({ ...t, market: t.marketId })).sort()).toEqual(
      placed.map((o) => key(o.intent)).sort(),
    );
    // And the same fills within the fill model (both walk the recorded book with paperFill).
    const filled = (xs: { k: string; f: number }[]) => xs.map((x) => `${x.k} filled ${x.f}`).sort();
    expect(filled(report.trades.map((t) => ({ k: key({ ...t, market: t.marketId }), f: t.filled })))).toEqual(
      filled(placed.map((o) => ({ k: key(o.intent), f: o.filledQuantity }))),
    );
  });
});
