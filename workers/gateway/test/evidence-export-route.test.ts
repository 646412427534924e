// The export route's fail-closed paths, over fake bindings (the real workers cannot be made to fail on cue): an
// audit chain that does not acknowledge the request refuses the export before a byte of evidence is read past the
// first page; an unavailable ingestion is an error answer, never a 200 with a cut-off file.
import { ErrorCode, err, ok, systemPrincipal } from "@paulp/contracts";
import { AutoRouter } from "itty-router";
import { describe, expect, it } from "vitest";
import type { GatewayRequest } from "../src/context";
import type { Env } from "../src/env";
import type { GatewayRouter } from "../src/router";
import { registerEvidenceExportRoutes } from "../src/routes/evidence-export";

function routeOver(ingestion: Record<string, unknown>, audit: Record<string, unknown>) {
  const calls: string[] = [];
  const spy = (name: string, target: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(target).map(([k, f]) => [
        k,
        (...a: unknown[]) => {
          calls.push(`${name}.${k}`);
          return (f as (...a: unknown[]) => unknown)(...a);
        },
      ]),
    );
  const router = AutoRouter<GatewayRequest, [Env, ExecutionContext]>({
    before: [
      (r: GatewayRequest) => {
        r.principal = systemPrincipal("test");
        r.requestId = "req-1";
      },
    ],
  });
  registerEvidenceExportRoutes(router as unknown as GatewayRouter);
  const env = { INGESTION: spy("ingestion", ingestion), AUDIT: spy("audit", audit) } as unknown as Env;
  const get = (query: string) =>
    router.fetch(new Request(`https://gw.test/admin/evidence/export?${query}`), env, {} as ExecutionContext);
  return { get, calls };
}

const WINDOW = "from=2026-12-01T00:00:00Z&to=2026-12-01T01:00:00Z";
const page = ok({
  fetches: [
    {
      hash: "a".repeat(64),
      venue: "kalshi",
      url: "https://k.test/x",
      status: 200,
      fetchedAt: "2026-12-01T00:00:01.000Z",
    },
  ],
  hashes: ["a".repeat(64)],
  cursor: null,
});

describe("GET /admin/evidence/export, failing closed", () => {
  it("refuses with 503 when the audit chain does not acknowledge the request, before any object is read", async () => {
    const { get, calls } = routeOver(
      { listFetches: async () => page, getEvidenceObjects: async () => ok({ objects: [], remaining: [] }) },
      { append: async () => err(ErrorCode.auditUnavailable, "the chain is down") },
    );
    const res = await get(WINDOW);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("audit_unavailable");
    expect(calls).toEqual(["ingestion.listFetches", "audit.append"]);
  });

  it("answers an unavailable ingestion as its error, with nothing audited or streamed", async () => {
    const { get, calls } = routeOver(
      { listFetches: async () => err(ErrorCode.serviceUnavailable, "ingestion is down") },
      { append: async () => ok({ seq: 1, hash: "h" }) },
    );
    const res = await get(WINDOW);
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("service_unavailable");
    expect(calls).toEqual(["ingestion.listFetches"]);
  });
});
