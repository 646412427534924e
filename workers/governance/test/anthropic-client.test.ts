import Anthropic from "@anthropic-ai/sdk";
import type { PairLeg } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { type CallDeps, callForcedTool, MESSAGES_URL, retryDelayMs } from "../src/anthropic";
import { buildAssessmentRequest } from "../src/pair-assessment";

const leg = (venue: "kalshi" | "polymarket"): PairLeg => ({
  venue,
  marketId: `${venue}-1`,
  title: "Will CPI year-over-year inflation in March 2027 be above 2.6%?",
  rules: "If CPI for March 2027, as published by the Bureau of Labor Statistics, is above 2.6%, Yes.",
  resolutionSource: venue === "polymarket" ? "https://www.bls.gov" : null,
  closeTime: "2027-04-10T14:00:00.000Z",
  evidenceHash: "a".repeat(64),
  termsHash: "b".repeat(64),
});
const BODY = buildAssessmentRequest("claude-sonnet-5-5", leg("kalshi"), leg("polymarket"));
const KEY = "sk-sim-client-test";

const toolUse = (requestId: string) =>
  Response.json(
    {
      id: "msg_1",
      type: "message",
      role: "assistant",
      model: "claude-sonnet-5-5",
      container: null,
      diagnostics: null,
      content: [
        {
          type: "tool_use",
          id: "toolu_1",
          name: "record_equivalence",
          input: { grade: "identical", yesMapsTo: "YES", reasons: ["same"] },
          caller: { type: "direct" },
        },
      ],
      stop_reason: "tool_use",
      stop_details: null,
      stop_sequence: null,
      usage: {
        input_tokens: 900,
        output_tokens: 40,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        service_tier: "standard",
      },
    },
    { headers: { "request-id": requestId } },
  );
const apiError = (status: number, type: string, headers: Record<string, string> = {}) =>
  Response.json(
    { type: "error", error: { type, message: type }, request_id: `req_${status}` },
    { status, headers: { "request-id": `req_${status}`, ...headers } },
  );

/** A fetch that answers from a script and records what was sent, and a sleep that only records. */
function scripted(answers: (() => Response)[], retry = { maxAttempts: 3, maxTotalWaitMs: 20_000 }) {
  const requests: Request[] = [];
  const sleeps: number[] = [];
  const deps: CallDeps = {
    fetch: async (url, init) => {
      requests.push(new Request(url, init));
      const next = answers.shift();
      if (!next) throw new Error("no scripted answer left");
      return next();
    },
    timeoutMs: 1_000,
    retry,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    now: () => Date.parse("2026-12-01T12:00:00.000Z"),
  };
  return { deps, requests, sleeps };
}

describe("the Messages API client", () => {
  it("sends exactly what the official SDK sends for the same request (headers and body)", async () => {
    const ours = scripted([() => toolUse("req_ours")]);
    await callForcedTool(ours.deps, KEY, BODY);
    const sdkSent: Request[] = [];
    const sdk = new Anthropic({
      apiKey: KEY,
      maxRetries: 0,
      fetch: async (url: string | URL | Request, init?: RequestInit) => {
        sdkSent.push(new Request(url, init));
        return toolUse("req_sdk");
      },
    });
    await sdk.messages.create(BODY);
    const [a, b] = [ours.requests[0]!, sdkSent[0]!];
    expect(a.url).toBe(MESSAGES_URL);
    expect(a.url).toBe(b.url);
    expect(a.method).toBe(b.method);
    for (const header of ["authorization", "anthropic-version", "content-type", "accept"])
      expect({ header, value: a.headers.get(header) }).toEqual({ header, value: b.headers.get(header) });
    expect(a.headers.get("x-api-key")).toBeNull();
    expect(await a.json()).toEqual(await b.json());
    expect(JSON.stringify(BODY)).not.toContain("temperature");
  });

  it("keeps the request id and the usage of the answer", async () => {
    const { deps } = scripted([() => toolUse("req_abc")]);
    const outcome = await callForcedTool(deps, KEY, BODY);
    expect(outcome).toMatchObject({
      kind: "tool_use",
      requestId: "req_abc",
      attempts: 1,
      usage: { input_tokens: 900, output_tokens: 40, service_tier: "standard" },
    });
  });

  it("retries 529 and 429 with the wait the API gives, then answers", async () => {
    const { deps, sleeps, requests } = scripted([
      () => apiError(529, "overloaded_error", { "retry-after": "2" }),
      () => apiError(429, "rate_limit_error", { "retry-after-ms": "150" }),
      () => toolUse("req_third"),
    ]);
    const outcome = await callForcedTool(deps, KEY, BODY);
    expect(outcome).toMatchObject({ kind: "tool_use", attempts: 3, requestId: "req_third" });
    expect(sleeps).toEqual([2_000, 150]);
    expect(requests).toHaveLength(3);
  });

  it("stops at the attempt bound and says so", async () => {
    const { deps, sleeps } = scripted([
      () => apiError(529, "overloaded_error"),
      () => apiError(529, "overloaded_error"),
      () => apiError(529, "overloaded_error"),
      () => toolUse("never"),
    ]);
    const outcome = await callForcedTool(deps, KEY, BODY);
    expect(outcome).toMatchObject({ kind: "error", status: 529, attempts: 3, requestId: "req_529" });
    expect(outcome.kind === "error" && outcome.detail).toMatch(/overloaded_error.*gave up after 3 attempts/);
    expect(sleeps).toEqual([500, 1_000]); // no retry-after: backoff from 0.5 s
  });

  it("does not wait past the total budget: a retry-after beyond it ends the call at once", async () => {
    const { deps, sleeps } = scripted(
      [() => apiError(429, "rate_limit_error", { "retry-after": "30" }), () => toolUse("never")],
      { maxAttempts: 5, maxTotalWaitMs: 20_000 },
    );
    const outcome = await callForcedTool(deps, KEY, BODY);
    expect(outcome).toMatchObject({ kind: "error", status: 429, attempts: 1, retryAfter: "30" });
    expect(outcome.kind === "error" && outcome.detail).toMatch(/retry budget of 20 s/);
    expect(sleeps).toEqual([]);
  });

  it("never retries other errors, nor a 429 the API marks x-should-retry: false", async () => {
    for (const answer of [
      () => apiError(500, "api_error"),
      () => apiError(400, "invalid_request_error"),
      () => apiError(404, "not_found_error"),
      () => apiError(429, "rate_limit_error", { "x-should-retry": "false" }),
    ]) {
      const { deps, sleeps } = scripted([answer, () => toolUse("never")]);
      const outcome = await callForcedTool(deps, KEY, BODY);
      expect(outcome).toMatchObject({ kind: "error", attempts: 1 });
      expect(sleeps).toEqual([]);
    }
  });

  it("reads retry-after as seconds, as an HTTP date, or falls back to backoff", () => {
    const now = Date.parse("2026-12-01T12:00:00.000Z");
    const h = (o: Record<string, string>) => new Headers(o);
    expect(retryDelayMs(h({ "retry-after": "1.5" }), 1, now)).toBe(1_500);
    expect(retryDelayMs(h({ "retry-after": "Tue, 01 Dec 2026 12:00:05 GMT" }), 1, now)).toBe(5_000);
    expect(retryDelayMs(h({ "retry-after-ms": "20", "retry-after": "9" }), 1, now)).toBe(20);
    expect(retryDelayMs(h({ "retry-after": "soon" }), 2, now)).toBe(1_000);
    expect(retryDelayMs(h({}), 9, now)).toBe(8_000);
  });

  it("without a key it sends nothing", async () => {
    const { deps, requests } = scripted([]);
    const outcome = await callForcedTool(deps, undefined, BODY);
    expect(outcome).toMatchObject({ kind: "error", attempts: 0 });
    expect(requests).toHaveLength(0);
  });
});
