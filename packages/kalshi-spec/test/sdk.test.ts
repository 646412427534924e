import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { KALSHI_ENDPOINTS } from "../src/endpoints";

// The SDK's generated docs say, per operation, its HTTP method and path, its query parameters and whether it
// needs the KALSHI-ACCESS-* headers. Read them as the SDK ships them and compare with our table.
const docsDir = path.join(
  path.dirname(createRequire(import.meta.url).resolve("kalshi-typescript/package.json")),
  "docs",
);

interface DocOp {
  method: string;
  path: string;
  auth: boolean;
  params: string[];
}

function readOperations(): Map<string, DocOp> {
  const ops = new Map<string, DocOp>();
  for (const file of readdirSync(docsDir).filter((f) => f.endsWith("Api.md"))) {
    const text = readFileSync(path.join(docsDir, file), "utf8");
    const routes = new Map<string, { method: string; path: string }>();
    for (const m of text.matchAll(/^\|\[\*\*(\w+)\*\*\]\(#\w+\) \| \*\*(\w+)\*\* ([^ |]+) \|/gm))
      routes.set(m[1]!, { method: m[2]!, path: m[3]! });
    for (const section of text.split(/^# \*\*/m).slice(1)) {
      const name = section.slice(0, section.indexOf("**"));
      const route = routes.get(name);
      if (!route) continue;
      const paramBlock = section.slice(section.indexOf("### Parameters"), section.indexOf("### Return type"));
      const params = [...paramBlock.matchAll(/^\| \*\*(\w+)\*\* \| \[\*\*(?!\w+Request\*\*)/gm)].map((m) =>
        m[1]!.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
      );
      const authBlock = section.slice(
        section.indexOf("### Authorization"),
        section.indexOf("### HTTP request headers"),
      );
      ops.set(name, { ...route, auth: authBlock.includes("kalshiAccessSignature"), params });
    }
  }
  return ops;
}

describe("the endpoint table matches kalshi-typescript's own docs", () => {
  const ops = readOperations();

  it("reads the SDK's operations", () => {
    expect(ops.get("getMarkets")).toMatchObject({ method: "GET", path: "/markets", auth: false });
  });

  for (const e of KALSHI_ENDPOINTS) {
    it(`${e.operation}: method, path, authorization and query parameters`, () => {
      const doc = ops.get(e.operation);
      expect(doc, `${e.operation} is documented`).toBeDefined();
      expect({ method: e.method, path: e.path, auth: e.auth }).toEqual({
        method: doc!.method,
        path: doc!.path,
        auth: doc!.auth,
      });
      // Path parameters are in the path; the rest are the query.
      const pathParams = [...e.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
      expect(Object.keys(e.query).sort()).toEqual(doc!.params.filter((p) => !pathParams.includes(p)).sort());
    });
  }

  it("the documented limit bounds are the ones the table enforces", () => {
    const md = readFileSync(path.join(docsDir, "MarketApi.md"), "utf8");
    expect(md).toMatch(
      /\*\*limit\*\* \| \[\*\*number\*\*\] \| Number of results per page\. Defaults to 100\. Maximum value is 1000\./,
    );
    const ev = readFileSync(path.join(docsDir, "EventsApi.md"), "utf8");
    expect(ev).toMatch(/Defaults to 200\. Maximum value is 200\./);
    const getMarkets = KALSHI_ENDPOINTS.find((e) => e.operation === "getMarkets")!;
    expect(getMarkets.query.limit!("1000")).toBeNull();
    expect(getMarkets.query.limit!("1001")).not.toBeNull();
    expect(getMarkets.query.limit!("0")).not.toBeNull();
    const getEvents = KALSHI_ENDPOINTS.find((e) => e.operation === "getEvents")!;
    expect(getEvents.query.limit!("201")).not.toBeNull();
  });
});
