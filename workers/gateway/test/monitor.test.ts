import type { AlertsView, OutboxMessage } from "@paulp/contracts";
import { beforeAll, describe, expect, it } from "vitest";
import { accessToken, adminFetch, asPerson, auditEntries, gateway, newSigner, post } from "./helpers";

// Alerts, metrics and the browse routes through the gateway and the real workers behind it.

const people: Record<string, string> = {};
beforeAll(async () => {
  const signer = await newSigner(true);
  for (const name of ["alice", "bob", "carol"])
    people[name] = await accessToken(signer, `${name}@example.com`);
});

function as(name: string, path: string, body?: unknown): Promise<Response> {
  return gateway().fetch(`https://gw.test${path}`, {
    method: "POST",
    headers: asPerson(people[name]!),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function breaker(): Promise<{ state: string; version: number }> {
  return (await (await adminFetch("/admin/circuit-breaker")).json()) as { state: string; version: number };
}

async function evaluate(): Promise<{ changes: { key: string; action: string; severity: string }[] }> {
  const res = await adminFetch("/admin/alerts/evaluate", { method: "POST" });
  expect(res.status).toBe(200);
  return (await res.json()) as { changes: { key: string; action: string; severity: string }[] };
}

describe("a halt raises an alert; the two-person recovery clears it", () => {
  it("is visible at /admin/alerts, its email in the outbox, both audited", async () => {
    await evaluate(); // a baseline
    const halted = await adminFetch(
      "/admin/circuit-breaker/transition",
      post({ targetState: "HALT", reason: "Emergency halt" }),
    );
    expect(halted.status).toBe(200);
    expect((await evaluate()).changes).toContainEqual({
      key: "breaker_state",
      action: "raised",
      severity: "critical",
    });
    const view = (await (await adminFetch("/admin/alerts")).json()) as AlertsView;
    expect(view.active.find((a) => a.key === "breaker_state")).toMatchObject({
      severity: "critical",
      status: "active",
      title: "circuit breaker HALT",
    });
    expect(view.active.find((a) => a.key === "breaker_state")?.detail).toContain("Emergency halt");
    const outbox = (await (await adminFetch("/admin/alerts/outbox?limit=1")).json()) as {
      messages: OutboxMessage[];
    };
    expect(outbox.messages[0]).toMatchObject({ delivery: "local", to: ["desk@paulp.local"] });
    expect(outbox.messages[0]!.subject).toContain("CRITICAL raised: circuit breaker HALT");
    expect((await auditEntries("monitor.alert_raised")).some((e) => e.payload.key === "breaker_state")).toBe(
      true,
    );

    // The history route shows the halt too.
    const history = (await (await adminFetch("/admin/circuit-breaker/history?limit=1")).json()) as {
      transitions: { to: string; reason: string }[];
    };
    expect(history.transitions[0]).toMatchObject({ to: "HALT", reason: "Emergency halt" });

    const halt = await breaker();
    const recovery = await adminFetch(
      "/admin/circuit-breaker/transition",
      post({ targetState: "RECOVERY", reason: "cause fixed", expectedVersion: halt.version }),
    );
    expect(recovery.status).toBe(200);
    expect((await evaluate()).changes).toContainEqual({
      key: "breaker_state",
      action: "deescalated",
      severity: "warning",
    });
    const rec = await breaker();
    const payload = { targetState: "NORMAL", reason: "all clear", expectedVersion: rec.version };
    const requested = await as("alice", "/admin/approvals", {
      action: "breaker.recovery_to_normal",
      payload,
    });
    expect(requested.status).toBe(201);
    const { requestId } = (await requested.json()) as { requestId: string };
    expect((await as("bob", `/admin/approvals/${requestId}/approve`)).status).toBe(200);
    expect((await as("carol", `/admin/approvals/${requestId}/approve`)).status).toBe(200);
    expect((await breaker()).state).toBe("NORMAL");
    expect((await evaluate()).changes).toContainEqual({
      key: "breaker_state",
      action: "cleared",
      severity: "warning",
    });
    const after = (await (await adminFetch("/admin/alerts")).json()) as AlertsView;
    expect(after.active.find((a) => a.key === "breaker_state")).toBeUndefined();
    expect(after.recent.filter((r) => r.key === "breaker_state").map((r) => r.action)).toEqual([
      "cleared",
      "deescalated",
      "raised",
    ]);
  });

  it("adding a recipient is audited with who did it", async () => {
    const res = await adminFetch("/admin/alerts/recipients", {
      method: "PUT",
      body: JSON.stringify({ action: "add", email: "oncall@paulp.local" }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { recipients: string[] }).recipients).toContain("oncall@paulp.local");
    const entry = (await auditEntries("monitor.recipient_changed")).at(-1)!;
    expect(entry.payload).toMatchObject({ action: "add", email: "oncall@paulp.local" });
    expect(entry.actor.subject).toBe("admin-token");
    const bad = await adminFetch("/admin/alerts/recipients", { method: "PUT", body: '{"action":"add"}' });
    expect(bad.status).toBe(400);
  });
});

describe("GET /admin/metrics", () => {
  it("answers the Prometheus text format", async () => {
    const res = await adminFetch("/admin/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await res.text();
    expect(text).toContain("# TYPE paulp_breaker_state gauge");
    expect(text).toMatch(/^paulp_breaker_state\{state="NORMAL"\} 1$/m);
    expect((await gateway().fetch("https://gw.test/admin/metrics")).status).toBe(401);
  });
});

describe("browsing what the desk knows", () => {
  beforeAll(async () => {
    expect((await adminFetch("/admin/ingestion/run", post({ venues: ["kalshi"], maxPages: 1 }))).status).toBe(
      200,
    );
  });

  it("lists markets with their mark and evidence hash, searchable and paged", async () => {
    const all = (await (await adminFetch("/admin/markets?venue=kalshi&limit=2")).json()) as {
      markets: { marketId: string; title: string; evidenceHash: string; mark?: unknown }[];
      cursor: string | null;
    };
    expect(all.markets).toHaveLength(2);
    expect(all.markets[0]!.evidenceHash).toMatch(/^[0-9a-f]{64}$/);
    expect(all.markets[0]).toHaveProperty("mark");
    expect(all.cursor).not.toBeNull();
    const next = (await (
      await adminFetch(`/admin/markets?venue=kalshi&limit=2&cursor=${encodeURIComponent(all.cursor!)}`)
    ).json()) as {
      markets: { marketId: string }[];
    };
    expect(next.markets[0]!.marketId).not.toBe(all.markets[0]!.marketId);
    const word = all.markets[0]!.title.split(/\s+/).find((w) => w.length > 3)!;
    const found = (await (
      await adminFetch(`/admin/markets?search=${encodeURIComponent(word.toUpperCase())}`)
    ).json()) as {
      markets: { title: string; marketId: string }[];
    };
    expect(found.markets.length).toBeGreaterThan(0);
    expect(
      found.markets.every((m) => `${m.title} ${m.marketId}`.toLowerCase().includes(word.toLowerCase())),
    ).toBe(true);
    expect((await adminFetch("/admin/markets?limit=0")).status).toBe(400);
    expect((await adminFetch("/admin/markets?colour=red")).status).toBe(400);
  });

  it("lists evidence by venue and time, newest first", async () => {
    const res = await adminFetch(
      `/admin/evidence?venue=kalshi&from=${new Date(Date.now() - 3600_000).toISOString()}`,
    );
    expect(res.status).toBe(200);
    const { evidence } = (await res.json()) as {
      evidence: { venue: string; fetchedAt: string; hash: string }[];
    };
    expect(evidence.length).toBeGreaterThan(0);
    expect(evidence.every((e) => e.venue === "kalshi")).toBe(true);
    const times = evidence.map((e) => e.fetchedAt);
    expect([...times].sort().reverse()).toEqual(times);
    const none = (await (await adminFetch(`/admin/evidence?to=${new Date(0).toISOString()}`)).json()) as {
      evidence: unknown[];
    };
    expect(none.evidence).toEqual([]);
    expect((await adminFetch("/admin/evidence?from=yesterday")).status).toBe(400);
  });

  it("lists risk's recent decisions with their reasons", async () => {
    const intent = {
      strategyId: "browse",
      venue: "kalshi",
      market: "BROWSE-NO-SUCH",
      side: "buy",
      effect: "open",
      quantity: 1,
      limitPrice: "0.50",
      clientOrderId: `browse-${Date.now()}`,
      evidenceHashes: ["a".repeat(64)],
    };
    expect((await adminFetch("/admin/orders", post(intent))).status).toBe(422);
    const res = await adminFetch("/admin/risk/decisions?denied=true&limit=5");
    const { decisions } = (await res.json()) as {
      decisions: { clientOrderId: string; approved: boolean; reasons: { code: string; message: string }[] }[];
    };
    const mine = decisions.find((d) => d.clientOrderId === intent.clientOrderId);
    expect(mine?.approved).toBe(false);
    expect(mine?.reasons[0]?.message.length).toBeGreaterThan(0);
    expect((await adminFetch("/admin/risk/decisions?denied=maybe")).status).toBe(400);
  });
});

describe("a wrong method", () => {
  it("answers 405 with Allow on every admin route; an unknown path stays 404", async () => {
    for (const [method, path, allow] of [
      ["POST", "/admin/alerts", "GET"],
      ["GET", "/admin/alerts/evaluate", "POST"],
      ["DELETE", "/admin/alerts/recipients", "GET, PUT"],
      ["PUT", "/admin/metrics", "GET"],
      ["POST", "/admin/markets", "GET"],
      ["DELETE", "/admin/circuit-breaker", "GET"],
      ["GET", "/admin/circuit-breaker/transition", "POST"],
      ["POST", `/admin/evidence/${"a".repeat(64)}`, "GET"],
    ] as const) {
      const res = await adminFetch(path, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get("allow"), `${method} ${path}`).toBe(allow);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("method_not_allowed");
    }
    expect((await adminFetch("/admin/no-such-thing")).status).toBe(404);
    // Authentication still comes first.
    expect((await gateway().fetch("https://gw.test/admin/alerts", { method: "POST" })).status).toBe(401);
  });
});
