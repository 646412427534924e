import { env } from "cloudflare:workers";
import type { IngestionRpc, RiskRpc } from "@paulp/contracts";
import { sha256Hex } from "@paulp/kit";
import { untilSettled } from "@paulp/testing/until";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminFetch, breaker, gateway, paperStrategy, post, simFault, twoPersonApproval } from "./helpers";

const put = (body: unknown) =>
  adminFetch("/admin/execution/policy", {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("execution admin routes", () => {
  it("shows the policy, paper everywhere by default", async () => {
    const res = await adminFetch("/admin/execution/policy");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { global: string };
    expect(body.global).toBe("paper");
  });

  it("answers 403 approval_required naming the action and exact payload when asked for live", async () => {
    const change = { scope: "strategy:rv-gw", mode: "live" };
    const res = await put(change);
    expect(res.status).toBe(403);
    const body = (await res.json()) as {
      error: { code: string; details: { action: string; payload: unknown } };
    };
    expect(body.error.code).toBe("approval_required");
    expect(body.error.details).toEqual({ action: "execution.policy_live", payload: change });
    const after = (await (await adminFetch("/admin/execution/policy")).json()) as {
      strategies: Record<string, string>;
    };
    expect(after.strategies["rv-gw"]).toBeUndefined();
  });

  it("moves to paper at once", async () => {
    const res = await put({ scope: "strategy:rv-gw", mode: "paper" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { strategies: Record<string, string> }).strategies["rv-gw"]).toBe("paper");
  });

  it("refuses a malformed policy body with 400 naming the field", async () => {
    const res = await put({ scope: "everything", mode: "live" });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("validation_failed");
    expect(body.error.message).toMatch(/scope/);
    expect((await adminFetch("/admin/execution/policy", { method: "PUT", body: "{nope" })).status).toBe(400);
  });

  it("lists orders and positions", async () => {
    const orders = await adminFetch("/admin/orders?limit=5");
    expect(orders.status).toBe(200);
    expect(Array.isArray(((await orders.json()) as { orders: unknown[] }).orders)).toBe(true);
    expect((await adminFetch("/admin/orders?state=bogus")).status).toBe(400);
    const positions = await adminFetch("/admin/positions");
    expect(positions.status).toBe(200);
    expect(Array.isArray(((await positions.json()) as { positions: unknown[] }).positions)).toBe(true);
  });

  it("answers 404 for an unknown order, its trace and its cancel, and 400 for a malformed id", async () => {
    expect((await adminFetch("/admin/orders/pp-does-not-exist")).status).toBe(404);
    expect((await adminFetch("/admin/orders/pp-does-not-exist/trace")).status).toBe(404);
    expect((await adminFetch("/admin/orders/pp-does-not-exist/cancel", { method: "POST" })).status).toBe(404);
    const bad = await adminFetch("/admin/orders/bad!id");
    expect(bad.status).toBe(400);
  });

  it("runs the emergency reconciliation with no body and reports per venue", async () => {
    const res = await adminFetch("/admin/reconcile", { method: "POST" });
    const body = (await res.json()) as {
      venues: { venue: string; status: string }[];
      drifts: unknown[];
      auditSeq: number;
    };
    expect(res.status).toBe(200);
    expect(body.venues.map((v) => v.venue).sort()).toEqual(["ibkr", "kalshi"]);
    expect(Array.isArray(body.drifts)).toBe(true);
    expect(body.auditSeq).toBeGreaterThan(0);
  });

  it("refuses every execution route without credentials", async () => {
    for (const [method, path] of [
      ["GET", "/admin/orders"],
      ["POST", "/admin/reconcile"],
      ["PUT", "/admin/execution/policy"],
      ["GET", "/admin/positions"],
    ] as const) {
      const res = await gateway().fetch(`https://gw.test${path}`, { method });
      expect(res.status).toBe(401);
    }
  });
});

const json = (body: unknown) => ({
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

/**
 * Pull one page of Kalshi markets through ingestion, pick one (`"first"` or `"last"`), and give risk its mark
 * from the same evidence (at `price`, or the book's best ask): what an order on it needs.
 */
async function markedKalshiMarket(pick: "first" | "second" | "last", price?: string) {
  await adminFetch("/admin/ingestion/run", {
    method: "POST",
    ...json({ venues: ["kalshi"], maxPages: 1, pageSize: 5 }),
  });
  const ingestion = env.INGESTION as unknown as IngestionRpc;
  const markets = await ingestion.listMarkets({ venue: "kalshi", limit: 5 });
  if (!markets.ok) throw new Error("no markets");
  const list = markets.value.markets;
  const open = list.filter((m) => m.status !== "closed");
  const market =
    pick === "first"
      ? (open[0] ?? list[0]!)
      : pick === "second"
        ? (open[1] ?? list[1]!)
        : list[list.length - 1]!;
  const book = await ingestion.getOrderBook("kalshi", market.marketId, 0);
  if (!book.ok) throw new Error("no book");
  const ask = book.value.asks.map((l) => l.price).sort()[0]!;
  const marked = await (env.RISK as unknown as RiskRpc).recordMarks([
    {
      venue: "kalshi",
      market: market.marketId,
      price: price ?? ask,
      category: market.category ?? "Other",
      evidenceHash: book.value.evidenceHash,
      observedAt: new Date().toISOString(),
    },
  ]);
  if (!marked.ok) throw new Error(`mark refused: ${marked.error.message}`);
  return { market, book: book.value, ask };
}

/** `POST /admin/orders`: an opening buy of `quantity` at `limitPrice` (the best ask by default) on a marked market. */
function postBuy(
  strategyId: string,
  m: Awaited<ReturnType<typeof markedKalshiMarket>>,
  quantity = 1,
  limitPrice = m.ask,
): Promise<Response> {
  return adminFetch("/admin/orders", {
    method: "POST",
    ...json({
      strategyId,
      venue: "kalshi",
      market: m.market.marketId,
      side: "buy",
      effect: "open",
      quantity,
      limitPrice,
      evidenceHashes: [m.book.evidenceHash],
    }),
  });
}

// End to end through the real workers: ingest → a manual paper order through risk → its trace reaches the
// raw evidence bytes it was decided on.
describe("order trace", () => {
  it("walks order → risk decision → evidence bytes", async () => {
    const marked = await markedKalshiMarket("first");
    const { book } = marked;

    const res = await postBuy(await paperStrategy("Order trace"), marked);
    const submitted = (await res.json()) as { order: { clientOrderId: string; mode: string; state: string } };
    expect(res.status, JSON.stringify(submitted)).toBe(201);
    expect(submitted.order).toMatchObject({ mode: "paper", state: "filled" });

    const trace = await adminFetch(`/admin/orders/${submitted.order.clientOrderId}/trace`);
    expect(trace.status).toBe(200);
    const t = (await trace.json()) as {
      decision: { approved: boolean; matchesIntent: boolean; intentHash: string };
      order: { intentHash: string };
      evidence: {
        hash: string;
        ok: boolean;
        sha256: string;
        byteLength: number;
        bytesBase64: string;
        truncated: boolean;
      }[];
    };
    expect(t.decision).toMatchObject({ approved: true, matchesIntent: true, intentHash: t.order.intentHash });
    expect(t.evidence).toHaveLength(1);
    const e = t.evidence[0]!;
    expect(e).toMatchObject({
      hash: book.evidenceHash,
      ok: true,
      sha256: book.evidenceHash,
      truncated: false,
    });
    const bytes = Uint8Array.from(atob(e.bytesBase64), (c) => c.charCodeAt(0));
    expect(bytes.byteLength).toBe(e.byteLength);
    expect(await sha256Hex(bytes)).toBe(book.evidenceHash);
  });
});

// Real execution and real risk: a submitted order reserves exposure until it ends, then execution's outbox
// tells risk it ended and the reservation is released (it would otherwise hold for 24 h).
describe("an order that ends releases its reservation", () => {
  it("exposure goes back to where it was once an unfilled paper order is cancelled", async () => {
    const marked = await markedKalshiMarket("last", "0.5000");
    const risk = env.RISK as unknown as RiskRpc;
    const concentration = async () => {
      const e = await risk.exposure();
      if (!e.ok) throw new Error(e.error.message);
      return e.value.limits.find((l) => l.limit === "maxConcentrationPct")!;
    };
    const before = await concentration();
    // 1,000 contracts bid at 0.01: nothing crosses, the IOC remainder is cancelled at once.
    const res = await postBuy(await paperStrategy("Release"), marked, 1_000, "0.0100");
    const placed = (await res.json()) as { order: { state: string; filledQuantity: number } };
    expect(res.status, JSON.stringify(placed)).toBe(201);
    expect(placed.order).toMatchObject({ state: "cancelled", filledQuantity: 0 });
    // Execution releases the reservation from its outbox, after answering: nothing crosses the binding to await.
    const after = await untilSettled(concentration, (c) => c.observedPct === before.observedPct);
    expect(after).toEqual(before);
    // While it was reserved, the same order would have been the worst market: 1,000 × $0.50 = $500.
    expect(Number(before.observedPct)).toBeLessThan(0.5);
  });
});

// SEC 15c3-5's erroneous-order control through the whole path: a buy far above a fresh mark is refused by risk
// with both prices, and no order reaches execution's book.
describe("the price collar through the order path", () => {
  it("refuses a manual buy at 0.99 with the mark at 0.78, naming both prices", async () => {
    const marked = await markedKalshiMarket("first", "0.7800");
    const strategy = await paperStrategy("Collar");
    const res = await postBuy(strategy, marked, 1, "0.9900");
    expect(res.status).toBe(422);
    const body = (await res.json()) as {
      error: {
        code: string;
        message: string;
        details: { reasons: { code: string; observed: string; limit: string; message: string }[] };
      };
    };
    expect(body.error.code).toBe("risk_denied");
    const collar = body.error.details.reasons.find((r) => r.code === "PRICE_COLLAR_EXCEEDED");
    expect(collar).toMatchObject({ observed: "0.9900", limit: "0.8580" });
    expect(collar!.message).toContain("buy at 0.9900 is above mark 0.7800");
    // Inside the collar the same order is approved (this mark carries no book sides: the mark alone collars).
    const inside = await postBuy(strategy, marked, 1, "0.8500");
    expect(inside.status, await inside.clone().text()).toBe(201);
  });
});

// #13 items 9 and 17 through the real workers: execution asks governance whether the strategy exists and
// ingestion whether the evidence does and what the rules in force now say of the market, for every order.
describe("every order is checked before anything is sent", () => {
  it("a manual order citing evidence that does not exist is refused with 422 naming the hash", async () => {
    const marked = await markedKalshiMarket("first");
    const fake = "0".repeat(64);
    const res = await postBuy(await paperStrategy("Fake evidence"), {
      ...marked,
      book: { ...marked.book, evidenceHash: fake },
    });
    const body = await refused(res, 422);
    expect(body.error).toMatchObject({
      code: "unknown_reference",
      message: `evidenceHashes: no evidence is stored under ${fake}`,
      details: { field: "evidenceHashes", missing: [fake] },
    });
    const order = await adminFetch(`/admin/orders/${body.error.details.clientOrderId}`);
    expect(((await order.json()) as { state: string; filledQuantity: number }).state).toBe("rejected");
  });

  it("an order for a strategy that does not exist is refused with 422 naming it", async () => {
    const marked = await markedKalshiMarket("first");
    const body = await refused(await postBuy("no-such-strategy", marked), 422);
    expect(body.error).toMatchObject({
      code: "unknown_reference",
      message: "strategyId: no strategy no-such-strategy exists",
      details: { field: "strategyId", missing: ["no-such-strategy"] },
    });
  });

  it("a compliance rule blocking a traded market refuses the next order for it (451, naming the rule)", async () => {
    const marked = await markedKalshiMarket("first");
    const strategy = await paperStrategy("Blocked later");
    expect((await postBuy(strategy, marked)).status).toBe(201);
    await whileBlocked(marked.market.marketId, async (version) => {
      // Risk still holds a fresh mark for it: only the verdict now stops the order.
      const body = await refused(await postBuy(strategy, marked), 451);
      expect(body.error).toMatchObject({
        code: "compliance_blocked",
        message: `kalshi:${marked.market.marketId} is blocked by compliance rule late-block (blocked after trading), rules version ${version}`,
      });
    });
  });
});

type Refusal = { error: { code: string; message: string; details: Record<string, unknown> } };

/** The body of a refusal answered with `status`. */
async function refused(res: Response, status: number): Promise<Refusal> {
  const body = (await res.json()) as Refusal;
  expect(res.status, JSON.stringify(body)).toBe(status);
  return body;
}

/** Run `fn` while a compliance rule blocks `marketId` (given the rules version that blocks it), then restore. */
async function whileBlocked(marketId: string, fn: (version: number) => Promise<void>): Promise<void> {
  const before = (await (await adminFetch("/admin/compliance/rules")).json()) as {
    version: number;
    rules: unknown[];
  };
  const put = (rules: unknown[], expectedVersion: number) =>
    adminFetch("/admin/compliance/rules", { method: "PUT", ...json({ rules, expectedVersion }) });
  const rule = { id: "late-block", kind: "pattern", value: marketId, reason: "blocked after trading" };
  expect((await put([...before.rules, rule], before.version)).status).toBe(200);
  try {
    await fn(before.version + 1);
  } finally {
    expect((await put(before.rules, before.version + 1)).status).toBe(200);
  }
}

// #13 items 8 and 10 on the live path, through the real mesh (execution holds a Kalshi key the simulator trusts).
describe("live orders", () => {
  let strategy = "";
  const setPolicy = (change: unknown) =>
    adminFetch("/admin/execution/policy", { method: "PUT", ...json(change) });
  beforeAll(async () => {
    strategy = await paperStrategy("Live");
    for (const scope of ["global", `strategy:${strategy}`]) {
      const approved = await twoPersonApproval("execution.policy_live", { scope, mode: "live" });
      expect(approved.applied?.ok, JSON.stringify(approved)).toBe(true);
    }
  });
  afterAll(async () => {
    expect((await setPolicy({ scope: "global", mode: "paper" })).status).toBe(200);
  });

  it("a reconcile while a live order is in flight reports no drift and leaves the breaker as it was", async () => {
    const marked = await markedKalshiMarket("first");
    const stateBefore = (await breaker()).state;
    // The simulator takes the order (it fills at once) and holds its answer until the test releases it:
    // execution cannot know yet (its venue timeout here is longer than any wait below).
    const sim = (path: string, init?: RequestInit) =>
      env.VENUE_SIM.fetch(`https://api.elections.kalshi.com/__sim/kalshi/${path}`, init);
    const hold = await sim("faults", post({ afterAccept: "hold", hangMs: 60_000, times: 1 }));
    expect(hold.status).toBeLessThan(300);
    const clientOrderId = `inflight-${crypto.randomUUID()}`.slice(0, 40);
    const placing = adminFetch("/admin/orders", {
      method: "POST",
      ...json({
        strategyId: strategy,
        venue: "kalshi",
        market: marked.market.marketId,
        side: "buy",
        effect: "open",
        quantity: 1,
        limitPrice: marked.ask,
        evidenceHashes: [marked.book.evidenceHash],
        clientOrderId,
      }),
    });
    try {
      // Answers once the order is stored at the venue and its answer held.
      expect(await (await sim("held")).json()).toEqual({ held: 1 });
      const report = (await (await adminFetch("/admin/reconcile", { method: "POST" })).json()) as {
        drifts: { market: string }[];
        inFlight: number;
        venues: { venue: string; status: string }[];
      };
      expect(report.venues.find((v) => v.venue === "kalshi")?.status).toBe("ok");
      expect(report.inFlight).toBe(1);
      expect(report.drifts.filter((d) => d.market === marked.market.marketId)).toEqual([]);
      expect((await breaker()).state).toBe(stateBefore);
    } finally {
      await sim("release", { method: "POST" });
    }
    // Released, the held answer is a 504: the order is `unknown` (still in flight as far as reconciliation goes)…
    const placed = (await (await placing).json()) as { order: { state: string } };
    expect(placed.order.state).toBe("unknown");
    // …until the next reconciliation looks it up first: found filled, the expectation is a point again, and matches.
    const after = (await (await adminFetch("/admin/reconcile", { method: "POST" })).json()) as {
      drifts: { market: string }[];
      inFlight: number;
    };
    expect(after).toMatchObject({ inFlight: 0 });
    expect(after.drifts.filter((d) => d.market === marked.market.marketId)).toEqual([]);
    const order = (await (await adminFetch(`/admin/orders/${clientOrderId}`)).json()) as {
      state: string;
      filledQuantity: number;
    };
    expect(order).toMatchObject({ state: "filled", filledQuantity: 1 });
  });

  // #13 item 9: a live order used to pass on risk's fresh mark alone.
  it("a live order in a market compliance blocked since its mark is refused before anything is sent", async () => {
    const marked = await markedKalshiMarket("first");
    await whileBlocked(marked.market.marketId, async (version) => {
      const body = await refused(await postBuy(strategy, marked), 451);
      expect(body.error).toMatchObject({
        code: "compliance_blocked",
        message: `kalshi:${marked.market.marketId} is blocked by compliance rule late-block (blocked after trading), rules version ${version}`,
      });
      const sent = await env.VENUE_SIM.fetch("https://api.elections.kalshi.com/__sim/kalshi/orders");
      const orders = ((await sent.json()) as { orders: { client_order_id: string }[] }).orders;
      expect(orders.filter((o) => o.client_order_id === body.error.details.clientOrderId)).toEqual([]);
      const order = await adminFetch(`/admin/orders/${body.error.details.clientOrderId}`);
      expect(((await order.json()) as { mode: string; state: string }).mode).toBe("live");
    });
  });

  // #12: Kalshi fills counts at 0.01 granularity. A 0.37-contract fill used to be refused by risk (whole
  // contracts only) and reported to the breaker as a trading-API error; risk now holds it exactly.
  it("a fractional Kalshi fill becomes exactly that position in risk, with no breaker error", async () => {
    const marked = await markedKalshiMarket("second");
    const failures = async () => (await breaker()).consecutiveFailures.venue_order_error ?? 0;
    // From a known streak of 0 (an earlier test's failures end here, as a successful venue call would end them).
    await (env.RISK as unknown as RiskRpc).reportSuccess("venue_order_error");
    expect(await failures()).toBe(0);
    const sim = (path: string, init?: RequestInit) =>
      env.VENUE_SIM.fetch(`https://api.elections.kalshi.com/__sim/kalshi/${path}`, init);
    expect(
      (await sim("faults", post({ afterAccept: null, fillCount: "0.37", times: 1 }))).status,
    ).toBeLessThan(300);
    const res = await postBuy(strategy, marked, 1);
    const placed = (await res.json()) as { order: { mode: string; state: string; filledQuantity: number } };
    expect(res.status, JSON.stringify(placed)).toBe(201);
    // The simulator filled 0.37 of 1 (its fill_count "0.37"); the IOC rest is cancelled.
    expect(placed.order).toMatchObject({ mode: "live", state: "cancelled", filledQuantity: 0.37 });
    // Risk's own view, read through the gateway's dry run: closing 0.37 is exactly flat; 0.38 would flip it.
    const close = (quantity: number) =>
      adminFetch("/admin/risk/evaluate", {
        method: "POST",
        ...json({
          strategyId: strategy,
          venue: "kalshi",
          market: marked.market.marketId,
          side: "sell",
          effect: "close",
          quantity,
          limitPrice: marked.ask,
          evidenceHashes: [marked.book.evidenceHash],
          clientOrderId: `frac-close-${quantity * 100}`,
        }),
      }).then(
        async (r) =>
          (await r.json()) as { approved: boolean; reasons: { code: string; observed?: string }[] },
      );
    // The fill reaches risk through execution's outbox after the answer: nothing crosses the binding to await.
    const exact = await untilSettled(
      () => close(0.37),
      (c) => c.approved,
      400,
    );
    expect(exact).toMatchObject({ approved: true, reasons: [] });
    expect((await close(0.38)).reasons).toEqual([
      expect.objectContaining({ code: "EFFECT_MISMATCH", observed: "position=0.37 after=-0.01" }),
    ]);
    // Before risk held hundredths, execution reported this fill as a trading-API failure right after the venue's
    // (successful) answer: the streak was 1 here.
    expect(await failures()).toBe(0);
    const positions = (await (await adminFetch("/admin/positions")).json()) as {
      positions: { market: string; mode?: string; position: number }[];
    };
    // Execution's own live position (its fills, stored exactly) agrees.
    expect(
      positions.positions.filter((p) => p.market === marked.market.marketId && p.mode === "live"),
    ).toEqual([expect.objectContaining({ position: 0.37 })]);
  });

  // Last: the backoff this 429 starts would refuse the next live order for a second.
  it("a 429 on order placement counts toward the breaker as a trading-API failure", async () => {
    // Another market than the in-flight test's: that one's order filled, and this one opens.
    const marked = await markedKalshiMarket("last");
    const count = async () => (await breaker()).consecutiveFailures.venue_order_error ?? 0;
    const before = await count();
    await simFault({
      host: "api.elections.kalshi.com",
      pathPrefix: "/trade-api/v2/portfolio/events/orders",
      kind: "rate_limit",
      bodyForm: "error_string",
      times: 1,
    });
    try {
      const res = await postBuy(strategy, marked);
      const placed = (await res.json()) as { order: { mode: string; state: string; reason: string } };
      expect(res.status, JSON.stringify(placed)).toBe(201);
      expect(placed.order).toMatchObject({
        mode: "live",
        state: "rejected",
        reason: expect.stringMatching(/^rate_limited/),
      });
      expect(await count()).toBe(before + 1);
    } finally {
      await (env.RISK as unknown as RiskRpc).reportSuccess("venue_order_error");
    }
  });
});

// The specification's halt, then an opening order through the whole path: risk denies it, naming the reason,
// and no order reaches execution.
describe("HALT through the order path", () => {
  it("denies an opening order with BREAKER_HALTED and creates no order", async () => {
    const marked = await markedKalshiMarket("first");
    const halt = await adminFetch("/admin/circuit-breaker/transition", {
      method: "POST",
      body: JSON.stringify({ targetState: "HALT", reason: "Emergency halt" }),
    });
    expect(halt.status).toBe(200);
    const ordersBefore = ((await (await adminFetch("/admin/orders")).json()) as { orders: unknown[] }).orders
      .length;

    const res = await postBuy(await paperStrategy("Halted"), marked);
    expect(res.status).toBe(422);
    const body = (await res.json()) as {
      error: { code: string; message: string; details: { reasons: { code: string }[] } };
    };
    expect(body.error.code).toBe("risk_denied");
    expect(body.error.details.reasons.map((r) => r.code)).toContain("BREAKER_HALTED");
    expect(body.error.message).not.toMatch(/BREAKER_HALTED: BREAKER_HALTED/);
    const ordersAfter = ((await (await adminFetch("/admin/orders")).json()) as { orders: unknown[] }).orders
      .length;
    expect(ordersAfter).toBe(ordersBefore);
  });
});
