import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";

const sim = () => (exports as unknown as { default: Fetcher }).default;
const K = "https://api.elections.kalshi.com/trade-api/v2/markets?limit=2";
const ADMIN = "https://api.elections.kalshi.com/__sim/faults";

async function setFault(fault: Record<string, unknown>): Promise<void> {
  const res = await sim().fetch(ADMIN, { method: "POST", body: JSON.stringify(fault) });
  expect(res.status).toBe(201);
}

afterEach(async () => {
  await sim().fetch(ADMIN, { method: "DELETE" });
});

describe("switchable faults", () => {
  it("serves 5xx while set, and the real answer after clearing", async () => {
    await setFault({
      host: "api.elections.kalshi.com",
      pathPrefix: "/trade-api/v2/markets",
      kind: "server_error",
      status: 502,
    });
    expect((await sim().fetch(K)).status).toBe(502);
    const list = (await (await sim().fetch(ADMIN)).json()) as { faults: { fired: number }[] };
    expect(list.faults[0]!.fired).toBe(1);
    await sim().fetch(ADMIN, { method: "DELETE" });
    expect((await sim().fetch(K)).status).toBe(200);
  });

  it("only matches its host and path prefix, and expires after `times`", async () => {
    await setFault({ host: "gamma-api.polymarket.com", kind: "server_error", times: 1 });
    expect((await sim().fetch(K)).status).toBe(200);
    expect((await sim().fetch("https://gamma-api.polymarket.com/markets?limit=1")).status).toBe(503);
    expect((await sim().fetch("https://gamma-api.polymarket.com/markets?limit=1")).status).toBe(200);
  });

  it("429 in both Kalshi body forms, with and without retry-after", async () => {
    await setFault({
      host: "api.elections.kalshi.com",
      kind: "rate_limit",
      bodyForm: "error_string",
      times: 1,
    });
    const a = await sim().fetch(K);
    expect(a.status).toBe(429);
    expect(a.headers.get("retry-after")).toBeNull();
    expect(await a.json()).toEqual({ error: "too many requests" });
    await setFault({ host: "api.elections.kalshi.com", kind: "rate_limit", retryAfter: 2, times: 1 });
    const b = await sim().fetch(K);
    expect(b.headers.get("retry-after")).toBe("2");
    expect(await b.json()).toMatchObject({ code: "too_many_requests" });
  });

  it("malformed, truncated, wrong-shape and huge bodies", async () => {
    await setFault({ host: "api.elections.kalshi.com", kind: "truncated", times: 1 });
    await expect((await sim().fetch(K)).json()).rejects.toThrow();
    await setFault({ host: "api.elections.kalshi.com", kind: "malformed", times: 1 });
    expect(await (await sim().fetch(K)).text()).toMatch(/^<html>/);
    await setFault({ host: "api.elections.kalshi.com", kind: "wrong_shape", times: 1 });
    expect(await (await sim().fetch(K)).json()).toMatchObject({ markets: 42 });
    await setFault({ host: "api.elections.kalshi.com", kind: "huge", sizeBytes: 300_000, times: 1 });
    expect((await (await sim().fetch(K)).arrayBuffer()).byteLength).toBe(300_000);
  });

  it("adds latency and still answers", async () => {
    await setFault({ host: "api.elections.kalshi.com", kind: "latency", latencyMs: 200, times: 1 });
    const t = Date.now();
    const res = await sim().fetch(K);
    expect(res.status).toBe(200);
    expect(Date.now() - t).toBeGreaterThanOrEqual(150);
  });

  it("rejects a bad fault spec", async () => {
    const res = await sim().fetch(ADMIN, {
      method: "POST",
      body: JSON.stringify({ host: "x", kind: "explode" }),
    });
    expect(res.status).toBe(400);
  });

  it("enforces a real token bucket per venue in the venue's 429 shape", async () => {
    const put = await sim().fetch(`${ADMIN}/rate-limits`, {
      method: "PUT",
      body: JSON.stringify({ bucket: "polymarket-gamma", capacity: 2, refillPerSecond: 0 }),
    });
    expect(put.status).toBe(200);
    const url = "https://gamma-api.polymarket.com/markets?limit=1";
    expect((await sim().fetch(url)).status).toBe(200);
    expect((await sim().fetch(url)).status).toBe(200);
    const limited = await sim().fetch(url);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).not.toBeNull();
    expect(await limited.json()).toMatchObject({ error: "Too Many Requests" });
    // Kalshi's bucket is separate, and answers Kalshi's documented 429 body without Retry-After.
    expect((await sim().fetch(K)).status).toBe(200);
    await sim().fetch(`${ADMIN}/rate-limits`, {
      method: "PUT",
      body: JSON.stringify({ bucket: "kalshi", capacity: 1, refillPerSecond: 0 }),
    });
    expect((await sim().fetch(K)).status).toBe(200);
    const k = await sim().fetch(K);
    expect(k.status).toBe(429);
    expect(k.headers.get("retry-after")).toBeNull();
    expect(await k.json()).toEqual({ error: "too many requests" });
  });
});
