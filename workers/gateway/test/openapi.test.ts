import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { OPERATIONS, openApiPath } from "../src/openapi";
import { buildRouter } from "../src/router";
import { adminFetch, gateway } from "./helpers";

type Schema = { properties?: Record<string, Schema>; items?: Schema; required?: string[] };
interface OpenApiDocument {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        requestBody?: { content: Record<string, { schema: unknown }> };
        responses?: Record<string, { content?: Record<string, { schema: Schema }> }>;
      }
    >
  >;
}

/** Every route the router really has: method and path, without the `all` middleware entries. */
function routerRoutes(): string[] {
  return buildRouter()
    .routes.filter(([method]) => method !== "ALL")
    .map(([method, , , path]) => `${method.toLowerCase()} ${openApiPath(path ?? "")}`);
}

async function served(): Promise<OpenApiDocument> {
  const res = await adminFetch("/admin/openapi.json");
  expect(res.status).toBe(200);
  return (await res.json()) as OpenApiDocument;
}

describe("GET /admin/openapi.json", () => {
  it("needs authentication like every admin route", async () => {
    const res = await gateway().fetch("https://gw.test/admin/openapi.json");
    expect(res.status).toBe(401);
    const wrong = await gateway().fetch("https://gw.test/admin/openapi.json", {
      headers: { authorization: `Bearer ${env.ADMIN_TOKEN}x` },
    });
    expect(wrong.status).toBe(401);
  });

  it("describes every route of the router, and every route it describes exists", async () => {
    const doc = await served();
    expect(doc.openapi).toBe("3.1.0");
    const described = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method} ${path}`),
    );
    const routes = routerRoutes();
    expect(routes.length).toBeGreaterThan(40);
    expect(routes.filter((r) => !described.includes(r))).toEqual([]);
    expect(described.filter((d) => !routes.includes(d))).toEqual([]);
    expect(new Set(described).size).toBe(described.length);
  });

  it("takes each request body from the schema its handler reads", async () => {
    const doc = await served();
    const transition = doc.paths["/admin/circuit-breaker/transition"]?.post?.requestBody?.content[
      "application/json"
    ]?.schema as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(transition.properties)).toEqual(
      expect.arrayContaining(["targetState", "reason", "expectedVersion"]),
    );
    expect(transition.required).toEqual(expect.arrayContaining(["targetState", "reason"]));
    const capital = doc.paths["/admin/risk/capital"]?.put?.requestBody?.content["application/json"]
      ?.schema as {
      additionalProperties: boolean;
    };
    // CapitalChange is a strict object: the description says so too.
    expect(capital.additionalProperties).toBe(false);
    // Every operation that reads a body describes it.
    for (const o of OPERATIONS.filter((x) => x.body)) {
      expect(doc.paths[openApiPath(o.path)]?.[o.method]?.requestBody, `${o.method} ${o.path}`).toBeDefined();
    }
  });

  it("describes an answer from its contract schema where it has one (the hedge obligations and undetermined fills)", async () => {
    const doc = await served();
    const answer = doc.paths["/admin/execution/hedge-obligations"]?.get?.responses?.["200"]?.content?.[
      "application/json"
    ]?.schema as Schema;
    expect(answer.required).toEqual(["obligations", "undetermined"]);
    expect(answer.properties?.undetermined?.items?.required).toEqual(
      expect.arrayContaining(["fillId", "clientOrderId", "market", "filledAfter", "recordedAt", "reason"]),
    );
    expect(answer.properties?.obligations?.items?.required).toEqual(
      expect.arrayContaining(["obligationId", "conid", "quantity", "state"]),
    );
  });

  it("an undescribed route would be caught: the comparison sees a route the description lacks", () => {
    const router = buildRouter();
    router.get("/admin/not-described", () => new Response("x"));
    const routes = router.routes
      .filter(([m]) => m !== "ALL")
      .map(([m, , , p]) => `${m.toLowerCase()} ${openApiPath(p ?? "")}`);
    const described = new Set(OPERATIONS.map((o) => `${o.method} ${openApiPath(o.path)}`));
    expect(routes.filter((r) => !described.has(r))).toEqual(["get /admin/not-described"]);
  });
});
