import { describe, expect, it } from "vitest";
import {
  checkIbkrRequest,
  checkIbkrResponse,
  ibkrOperation,
  ibkrResponseSchema,
  ibkrSpecAsPublished,
  sample,
  specHasField,
} from "../src/index";

const GW = "https://gw.example/v1/api";

describe("the IBKR spec helpers", () => {
  it("finds operations, a literal segment beating a parameter", () => {
    expect(ibkrOperation("GET", `${GW}/portfolio/accounts`)?.template).toBe("/portfolio/accounts");
    const positions = ibkrOperation("GET", `${GW}/portfolio/DU1/positions/2`);
    expect(positions?.template).toBe("/portfolio/{accountId}/positions/{pageId}");
    expect(positions?.pathParams).toEqual({ accountId: "DU1", pageId: "2" });
    expect(ibkrOperation("PATCH", `${GW}/portfolio/accounts`)).toBeNull();
    expect(ibkrOperation("GET", "https://gw.example/v2/portfolio/accounts")).toBeNull();
  });

  it("fails a response with a field the spec does not name, or of the wrong type", () => {
    const url = `${GW}/iserver/auth/status`;
    expect(checkIbkrResponse("POST", url, 200, { authenticated: true, connected: true })).toEqual([]);
    expect(checkIbkrResponse("POST", url, 200, { authenticated: true, invented: 1 }).join()).toMatch(
      /additionalProperties/,
    );
    expect(checkIbkrResponse("POST", url, 200, { authenticated: "yes" }).join()).toMatch(/type/);
    // Inside a $ref'd array item too.
    const positions = `${GW}/portfolio/DU1/positions/0`;
    expect(checkIbkrResponse("GET", positions, 200, [{ conid: 1, position: 2 }])).toEqual([]);
    expect(checkIbkrResponse("GET", positions, 200, [{ conid: 1.5 }]).join()).toMatch(/integer/);
    expect(checkIbkrResponse("GET", positions, 200, [{ conid: 1, size: 2 }]).join()).toMatch(/size/);
  });

  it("holds an undocumented status to the spec's system-error shape, a schemaless one to {}", () => {
    const url = `${GW}/iserver/account/orders`;
    expect(checkIbkrResponse("GET", url, 401, { error: "not authenticated" })).toEqual([]);
    expect(checkIbkrResponse("GET", url, 401, { error: "x", statusCode: 401 })).not.toEqual([]);
    expect(checkIbkrResponse("POST", `${GW}/tickle`, 200, {})).toEqual([]);
    expect(checkIbkrResponse("POST", `${GW}/tickle`, 200, { session: "x" })).not.toEqual([]);
  });

  it("checks a request's method, path and query parameters and body", () => {
    const json = { "content-type": "application/json" };
    const ok = checkIbkrRequest({
      method: "POST",
      url: `${GW}/iserver/reply/abc`,
      headers: json,
      body: JSON.stringify({ confirmed: true }),
    });
    expect(ok.problems).toEqual([]);
    expect(ok.match?.template).toBe("/iserver/reply/{replyid}");
    const problems = (r: Parameters<typeof checkIbkrRequest>[0]) => checkIbkrRequest(r).problems.join("; ");
    expect(
      problems({ method: "POST", url: `${GW}/iserver/reply/abc`, headers: json, body: '{"confirmed":"y"}' }),
    ).toMatch(/type/);
    expect(
      problems({ method: "POST", url: `${GW}/iserver/reply/abc`, headers: {}, body: '{"confirmed":true}' }),
    ).toMatch(/content-type/);
    expect(problems({ method: "POST", url: `${GW}/iserver/reply/abc`, headers: {}, body: null })).toMatch(
      /requires a body/,
    );
    expect(
      problems({ method: "GET", url: `${GW}/portfolio/accounts?page=2`, headers: {}, body: null }),
    ).toMatch(/page is not documented/);
    expect(problems({ method: "GET", url: `${GW}/iserver/accounts`, headers: json, body: "{}" })).toMatch(
      /documents no body/,
    );
    expect(
      problems({
        method: "POST",
        url: `${GW}/iserver/account/DU1/orders`,
        headers: json,
        body: JSON.stringify({ orders: [{ conid: 1, side: "BUY", quantity: 1, colour: "red" }] }),
      }),
    ).toMatch(/colour|additionalProperties/);
  });

  it("builds full and all-optional-absent fixtures from a schema", () => {
    const schema = ibkrResponseSchema("GET", "/iserver/account/trades");
    const full = sample(ibkrSpecAsPublished, schema, "full") as Record<string, unknown>[];
    expect(Object.keys(full[0]!)).toContain("commission");
    expect(sample(ibkrSpecAsPublished, schema, "minimal")).toEqual([{}]);
    expect(checkIbkrResponse("GET", `${GW}/iserver/account/trades`, 200, full)).toEqual([]);
    expect(specHasField(ibkrSpecAsPublished, schema, ["[]", "commission"])).toBe(true);
    expect(specHasField(ibkrSpecAsPublished, schema, ["[]", "average_price"])).toBe(false);
  });
});
