// The bounded wait of the admin routes (src/answer.ts): a read from a peer that never answers is a JSON 504, a write
// that times out says its outcome is unknown, a peer that answers is unaffected, and a route that must see its
// outcome (an order in flight) waits past the bound. The bound is shortened through ADMIN_PEER_TIMEOUT_MS; the
// timer it sets is the event these tests wait on, so nothing sleeps.
import { env } from "cloudflare:workers";
import { ok } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { PEER_TIMEOUT_MS, peerTimeoutMs } from "../src/answer";
import type { Env } from "../src/env";
import { adminFetchOver, failingPeer } from "./failing-peer";

/** A bound short enough that a test waits on it for no time worth noticing. */
const SHORT = "25";

type ErrorBody = { error: { code: string; message: string; details?: unknown } };

async function expectTimeout(res: Response, what: string): Promise<ErrorBody["error"]> {
  expect(res.status, what).toBe(504);
  expect(res.headers.get("content-type"), what).toMatch(/^application\/json/);
  const { error } = (await res.json()) as ErrorBody;
  expect(error.code, what).toBe("upstream_timeout");
  expect(error.message, what).toMatch(
    new RegExp(`^${what.replace(/[().]/g, "\\$&")} did not answer within 25 ms`),
  );
  return error;
}

/** A promise the test resolves when it chooses. */
function held<T>(): { promise: Promise<T>; release: (value: T) => void } {
  let release!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}

describe("the admin routes' bounded wait for a peer", () => {
  it("reads the bound from ADMIN_PEER_TIMEOUT_MS, keeping the 15 s default when it is unset or malformed", () => {
    const bound = (value?: string) => peerTimeoutMs({ ...env, ADMIN_PEER_TIMEOUT_MS: value } as Env);
    expect(PEER_TIMEOUT_MS).toBe(15_000);
    expect(bound()).toBe(15_000);
    expect(bound("40")).toBe(40);
    for (const bad of ["", "abc", "0", "-5", "2.5"]) expect(bound(bad), bad).toBe(15_000);
  });

  it("answers a read from a peer that never answers with a JSON 504 upstream_timeout naming the call", async () => {
    const RISK = failingPeer(["getBreaker", "getLimits"], "never answers");
    for (const [path, what] of [
      ["/admin/circuit-breaker", "risk.getBreaker"],
      ["/admin/risk/limits", "risk.getLimits"],
    ] as const) {
      const error = await expectTimeout(
        await adminFetchOver({ RISK, ADMIN_PEER_TIMEOUT_MS: SHORT }, path),
        what,
      );
      // A read changed nothing: no outcome to look up.
      expect(error.details, what).toBeUndefined();
      expect(error.message, what).not.toMatch(/unknown/);
    }
    // A route that reads through the call (not `answer`) is bounded too.
    const MONITOR = failingPeer(["metrics"], "never answers");
    await expectTimeout(
      await adminFetchOver({ MONITOR, ADMIN_PEER_TIMEOUT_MS: SHORT }, "/admin/metrics"),
      "monitor.metrics",
    );
  });

  it("names a call whose arguments come from the request `<peer>.<method>`, and reads them before any call", async () => {
    // Each route below reads its arguments from the request (a query, a path parameter) through `methodRoute`.
    const INGESTION = failingPeer(["listMarkets", "listReplays"], "never answers");
    const RISK = failingPeer(["recentDecisions", "breakerHistory"], "never answers");
    const MONITOR = failingPeer(["equitySeries", "alerts", "outbox"], "never answers");
    const EXECUTION = failingPeer(["getOrder", "listOrders"], "never answers");
    const bindings = { INGESTION, RISK, MONITOR, EXECUTION, ADMIN_PEER_TIMEOUT_MS: SHORT };
    for (const [path, what] of [
      ["/admin/markets?limit=5", "ingestion.listMarkets"],
      ["/admin/replays?strategyId=s-1", "ingestion.listReplays"],
      ["/admin/risk/decisions?denied=true", "risk.recentDecisions"],
      ["/admin/circuit-breaker/history?limit=3", "risk.breakerHistory"],
      ["/admin/equity?minutes=60", "monitor.equitySeries"],
      ["/admin/alerts", "monitor.alerts"],
      ["/admin/orders/ord-12345678", "execution.getOrder"],
      ["/admin/orders?state=filled", "execution.listOrders"],
    ] as const)
      await expectTimeout(await adminFetchOver(bindings, path), what);

    // An argument the request gets wrong is its 400, before the peer is asked (a peer that throws would be a 503).
    const called: string[] = [];
    const watched = (service: string) =>
      new Proxy({}, { get: (_t, method) => async () => called.push(`${service}.${String(method)}`) });
    for (const path of ["/admin/markets?limit=0", "/admin/orders/bad id", "/admin/equity?minutes=x"]) {
      const res = await adminFetchOver(
        { INGESTION: watched("ingestion"), EXECUTION: watched("execution"), MONITOR: watched("monitor") },
        path,
      );
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as ErrorBody).error.code, path).toBe("validation_failed");
    }
    expect(called).toEqual([]);
  });

  it("says a write that timed out has an unknown outcome and where to check it, never that it failed", async () => {
    const RISK = failingPeer(["transitionBreaker"], "never answers");
    const res = await adminFetchOver(
      { RISK, ADMIN_PEER_TIMEOUT_MS: SHORT },
      "/admin/circuit-breaker/transition",
      {
        method: "POST",
        body: JSON.stringify({ targetState: "HALT", reason: "peer timeout test" }),
      },
    );
    const error = await expectTimeout(res, "risk.transitionBreaker");
    expect(error.message).toContain("the outcome is unknown");
    expect(error.message).toContain("check GET /admin/circuit-breaker");
    expect(error.message).not.toMatch(/\bfailed\b/);
    expect(error.details).toEqual({ outcome: "unknown", check: "GET /admin/circuit-breaker" });

    // A write whose only argument is its actor names its check the same way.
    const INGESTION = failingPeer(["auditEvidenceIndex"], "never answers");
    const indexed = await expectTimeout(
      await adminFetchOver({ INGESTION, ADMIN_PEER_TIMEOUT_MS: SHORT }, "/admin/evidence/index-audit", {
        method: "POST",
      }),
      "ingestion.auditEvidenceIndex",
    );
    expect(indexed.details).toEqual({ outcome: "unknown", check: "GET /admin/ingestion/status" });
  });

  it("says so when the breaker's halt after a lost receipt timed out: whether it was told is unknown", async () => {
    const broken = { ok: false, checked: 1, broken: [{ seq: 1, detail: "receipt 1 is not in the chain" }] };
    const AUDIT = { checkReceipts: async () => ok(broken) };
    const RISK = failingPeer(["reportFailure"], "never answers");
    const res = await adminFetchOver(
      { AUDIT, RISK, ADMIN_PEER_TIMEOUT_MS: SHORT },
      "/admin/audit/receipts/check",
      {
        method: "POST",
        body: JSON.stringify({ receipts: [{ seq: 1, hash: "a".repeat(64) }] }),
      },
    );
    expect(res.status).toBe(504);
    const { error } = (await res.json()) as ErrorBody;
    expect(error.code).toBe("upstream_timeout");
    expect(error.message).toMatch(
      /^the chain does not hold 1 receipt\(s\) and whether the breaker was told is unknown/,
    );
    expect(error.message).toContain("check GET /admin/circuit-breaker");
  });

  it("bounds the start of the audit export", async () => {
    const AUDIT = failingPeer(["exportNdjson"], "never answers");
    await expectTimeout(
      await adminFetchOver({ AUDIT, ADMIN_PEER_TIMEOUT_MS: SHORT }, "/admin/audit/export"),
      "audit.exportNdjson",
    );
  });

  it("leaves a peer that answers unaffected: its answer, not a timeout, even under the short bound", async () => {
    // The stand-in answers at once; the bound's timer cannot fire before an answer already given.
    const breaker = { state: "NORMAL", version: 7 };
    const RISK = { getBreaker: async () => ok(breaker) };
    const res = await adminFetchOver({ RISK, ADMIN_PEER_TIMEOUT_MS: SHORT }, "/admin/circuit-breaker");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(breaker);
    // The real risk worker under the production bound answers as ever.
    const real = await adminFetchOver({}, "/admin/circuit-breaker");
    expect(real.status).toBe(200);
    expect(((await real.json()) as { state: string }).state).toBeTypeOf("string");
  });

  it("waits past the bound for an order in flight: the order's answer, never a timeout", async () => {
    const placed = held<unknown>();
    let placing!: () => void;
    const called = new Promise<void>((resolve) => {
      placing = resolve;
    });
    const EXECUTION = {
      placeOrder: () => {
        placing();
        return placed.promise;
      },
      listOrders: () => new Promise<never>(() => {}),
    };
    const bindings = { EXECUTION, ADMIN_PEER_TIMEOUT_MS: SHORT };
    const order = adminFetchOver(bindings, "/admin/orders", {
      method: "POST",
      body: JSON.stringify({
        strategyId: "s1",
        venue: "kalshi",
        market: "KXTEST-26",
        side: "buy",
        effect: "open",
        quantity: 1,
        limitPrice: "0.50",
        evidenceHashes: ["d".repeat(64)],
      }),
    });
    await called;
    // A read started after the order was placed, under the same bound, times out: the bound has passed for the
    // order too, which is still waiting.
    await expectTimeout(await adminFetchOver(bindings, "/admin/orders"), "execution.listOrders");
    const submitted = { orderId: "o-1", state: "submitted", duplicate: false };
    placed.release(ok(submitted));
    const res = await order;
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual(submitted);
  });
});
