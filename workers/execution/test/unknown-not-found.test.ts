// An order whose submission failed with an ambiguous answer is `unknown`; when the venue never received it,
// it stays unknown through the grace period (resolved by asking, never re-sent) and is then rejected.
import { runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN,
  approvedDecision,
  execution,
  intent,
  kalshiOrderFault,
  liveOnSimulator,
  orderManagerStub,
  simKalshiOrders,
  TICKERS,
} from "./helpers";

const LIVE = "rv-live-nf";

beforeAll(() => liveOnSimulator(LIVE));

describe("an unknown order the venue never received", () => {
  it("stays unknown within the grace period, is never re-sent, and is rejected after it", async () => {
    // The venue answers 503 to the order itself (nothing stored there): an ambiguous write → unknown.
    await kalshiOrderFault({ kind: "server_error", status: 503 });
    const i = intent({ strategyId: LIVE, market: TICKERS[5]! });
    const d = await approvedDecision(i);
    const r = await execution().submitOrder(i, d.decisionId, ADMIN);
    expect(r.ok && r.value.order.state).toBe("unknown");
    const atVenue = async () =>
      (await simKalshiOrders()).filter((o) => o.client_order_id === i.clientOrderId);
    expect(await atVenue()).toHaveLength(0);

    // Within the grace period: asked, not found, still unknown, nothing sent.
    const early = await execution().resolveUnknown(ADMIN);
    expect(early.ok && early.value.stillUnknown).toBeGreaterThanOrEqual(1);
    expect(
      (await execution().getOrder(i.clientOrderId)).ok && (await execution().getOrder(i.clientOrderId)),
    ).toMatchObject({
      value: { state: "unknown" },
    });
    expect(await atVenue()).toHaveLength(0);

    // Age the order past the grace period, then resolve again: rejected, still nothing at the venue.
    await runInDurableObject(orderManagerStub(), async (_i, state) => {
      state.storage.sql.exec(
        "UPDATE orders SET updated_at = ? WHERE coid = ?",
        new Date(Date.now() - 121_000).toISOString(),
        i.clientOrderId,
      );
    });
    const late = await execution().resolveUnknown(ADMIN);
    expect(late.ok && late.value.resolved).toBeGreaterThanOrEqual(1);
    const after = await execution().getOrder(i.clientOrderId);
    expect(after.ok && after.value.state).toBe("rejected");
    expect(after.ok && after.value.history.map((h) => h.state)).toEqual([
      "pending_submit",
      "unknown",
      "rejected",
    ]);
    expect(await atVenue()).toHaveLength(0);
  });
});
