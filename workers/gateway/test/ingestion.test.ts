import { env } from "cloudflare:workers";
import type { IngestionRpc, RiskRpc } from "@paulp/contracts";
import { sha256Hex } from "@paulp/kit";
import { describe, expect, it } from "vitest";
import { adminFetchOver, expectMappedFailure, failingPeer } from "./failing-peer";
import { adminFetch, breaker, gateway, simFault } from "./helpers";

interface Status {
  venues: Record<
    string,
    {
      storedMarkets: number;
      lastRun: { outcome: string; stored: number; errors: Record<string, number> } | null;
    }
  >;
}

const json = (body: unknown): RequestInit => ({
  body: JSON.stringify(body),
  headers: { "content-type": "application/json" },
});

describe("ingestion admin routes", () => {
  it("refuses every route without credentials, and nothing runs", async () => {
    for (const [method, path] of [
      ["GET", "/admin/ingestion/status"],
      ["POST", "/admin/ingestion/run"],
      ["GET", "/admin/compliance/rules"],
      ["PUT", "/admin/compliance/rules"],
      ["GET", `/admin/evidence/${"0".repeat(64)}`],
    ] as const) {
      const res = await gateway().fetch(`https://gw.test${path}`, { method });
      expect(res.status, path).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    }
    expect(await env.TEST_D1_MARKETS.prepare("SELECT COUNT(*) AS n FROM ingest_runs").first("n")).toBe(0);
  });

  it("runs, shows the status, and serves evidence re-hashed", async () => {
    const run = await adminFetch("/admin/ingestion/run", {
      method: "POST",
      ...json({ maxPages: 1, pageSize: 40 }),
    });
    expect(run.status).toBe(200);
    const reports = (await run.json()) as { venue: string; outcome: string; stored: number }[];
    // Kalshi's first 40 open markets hold the one the simulator plants unrepresentable: skipped and counted.
    expect(reports.map((r) => [r.venue, r.outcome, r.stored])).toEqual([
      ["kalshi", "ok", 39],
      // One of gamma's first 40 has no question (a quirk Polymarket's bindings allow): skipped, not stored.
      ["polymarket", "ok", 39],
    ]);
    const status = (await (await adminFetch("/admin/ingestion/status")).json()) as Status;
    expect(status.venues.kalshi!.storedMarkets).toBe(39);
    expect(status.venues.polymarket!.lastRun).toMatchObject({ outcome: "ok", stored: 39 });

    const row = await env.TEST_D1_MARKETS.prepare("SELECT evidence_hash FROM markets LIMIT 1").first<{
      evidence_hash: string;
    }>();
    const res = await adminFetch(`/admin/evidence/${row!.evidence_hash}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(await sha256Hex(new Uint8Array(await res.arrayBuffer()))).toBe(row!.evidence_hash);
  });

  it("evidence: a bad hash is a 400, an unknown one 404", async () => {
    expect((await adminFetch("/admin/evidence/not-a-hash")).status).toBe(400);
    const missing = await adminFetch(`/admin/evidence/${"a".repeat(64)}`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });

  it("rules: PUT validates, applies, is visible with who changed it; bad bodies are 400", async () => {
    const bad = await adminFetch("/admin/compliance/rules", {
      method: "PUT",
      ...json({ rules: [{ id: "x", kind: "nope" }] }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("validation_failed");
    const notJson = await adminFetch("/admin/compliance/rules", { method: "PUT", body: "{" });
    expect(notJson.status).toBe(400);
    // Over a complexity limit (#13 item 19): refused, naming the rule and the limit.
    const tooComplex = await adminFetch("/admin/compliance/rules", {
      method: "PUT",
      ...json({ rules: [{ id: "stars", kind: "pattern", value: "*a*a*a*a*a*a*a*a*b", reason: "x" }] }),
    });
    expect(tooComplex.status).toBe(400);
    expect(((await tooComplex.json()) as { error: { message: string } }).error.message).toMatch(
      /rule stars: a pattern has at most 8 '\*'/,
    );
    const before = (await (await adminFetch("/admin/compliance/rules")).json()) as { version: number };
    const put = await adminFetch("/admin/compliance/rules", {
      method: "PUT",
      ...json({
        rules: [{ id: "no-politics", kind: "category", value: "Politics", reason: "policy" }],
        expectedVersion: before.version,
      }),
    });
    expect(put.status).toBe(200);
    const view = (await put.json()) as { version: number; updatedBy: string; rules: { id: string }[] };
    expect(view).toMatchObject({
      version: before.version + 1,
      updatedBy: "admin-token",
      rules: [{ id: "no-politics" }],
    });
    // The change is in the real audit chain with who made it.
    const ndjson = await new Response(await env.AUDIT.exportNdjson()).text();
    const entry = ndjson
      .split("\n")
      .filter(Boolean)
      .map(
        (l) =>
          JSON.parse(l) as { type?: string; actor?: { subject: string }; payload?: { version?: number } },
      )
      .find((e) => e.type === "compliance.rules_updated" && e.payload?.version === view.version);
    expect(entry?.actor?.subject).toBe("admin-token");
    const stale = await adminFetch("/admin/compliance/rules", {
      method: "PUT",
      ...json({ rules: [], expectedVersion: before.version }),
    });
    expect(stale.status).toBe(409);
    const run = await adminFetch("/admin/ingestion/run", {
      method: "POST",
      ...json({ venues: ["kalshi"], maxPages: 1, pageSize: 10 }),
    });
    expect(run.status).toBe(200);
  });

  // #13 item 17: a garbage book is a market-data failure for the real breaker, as a 5xx is.
  it("a garbage order book answer counts toward the breaker as a market-data failure", async () => {
    await adminFetch("/admin/ingestion/run", {
      method: "POST",
      ...json({ venues: ["kalshi"], maxPages: 1, pageSize: 5 }),
    });
    const row = await env.TEST_D1_MARKETS.prepare(
      "SELECT market_id FROM markets WHERE venue = 'kalshi' LIMIT 1",
    ).first<{
      market_id: string;
    }>();
    const count = async () => (await breaker()).consecutiveFailures.venue_api_error ?? 0;
    const before = await count();
    await simFault({
      host: "api.elections.kalshi.com",
      pathPrefix: `/trade-api/v2/markets/${row!.market_id}/orderbook`,
      kind: "malformed",
      times: 1,
    });
    try {
      const book = await (env.INGESTION as unknown as IngestionRpc).getOrderBook("kalshi", row!.market_id, 0);
      expect(book).toMatchObject({ ok: false, error: { code: "upstream_error" } });
      expect(await count()).toBe(before + 1);
    } finally {
      await (env.RISK as unknown as RiskRpc).reportSuccess("venue_api_error");
    }
  });

  it("run: a bad body is a 400 and nothing runs", async () => {
    const before = await env.TEST_D1_MARKETS.prepare("SELECT COUNT(*) AS n FROM ingest_runs").first<number>(
      "n",
    );
    const res = await adminFetch("/admin/ingestion/run", { method: "POST", ...json({ maxPages: 500 }) });
    expect(res.status).toBe(400);
    expect(
      await env.TEST_D1_MARKETS.prepare("SELECT COUNT(*) AS n FROM ingest_runs").first<number>("n"),
    ).toBe(before);
  });
});

// Every ingestion route calls the worker through rpc() (#17): a worker that throws or answers no result is the
// mapped JSON error every other route gives, never the gateway's own 500 (a plain throw was one before).
describe("ingestion admin routes over an ingestion worker that fails", () => {
  const routes: [method: string, path: string, call: string, body?: unknown][] = [
    ["GET", "/admin/ingestion/status", "status"],
    ["POST", "/admin/ingestion/run", "runNow", {}],
    [
      "POST",
      "/admin/ingestion/history",
      "recordHistory",
      { from: "2026-12-01T00:00:00Z", to: "2026-12-01T00:10:00Z", stepMs: 60_000 },
    ],
    ["GET", "/admin/compliance/rules", "getComplianceRules"],
    ["PUT", "/admin/compliance/rules", "putComplianceRules", { rules: [] }],
    ["GET", `/admin/evidence/${"a".repeat(64)}`, "getEvidence"],
  ];
  for (const how of ["throws", "answers nothing"] as const)
    it(`answers each route's call that ${how} as the mapped error naming the call`, async () => {
      const INGESTION = failingPeer(
        routes.map(([, , call]) => call),
        how,
      );
      for (const [method, path, call, body] of routes) {
        const init = body === undefined ? { method } : { method, ...json(body) };
        await expectMappedFailure(await adminFetchOver({ INGESTION }, path, init), how, `ingestion.${call}`);
      }
    });
});
