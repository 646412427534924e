import { exports } from "cloudflare:workers";
import Anthropic, {
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
} from "@anthropic-ai/sdk";
import { beforeEach, describe, expect, it } from "vitest";
import { SIM_KEY_PREFIX } from "../src/anthropic";

// The official SDK, run here in workerd, against the double: what the SDK sends is what the double accepts, and
// what the double answers is what the SDK's types and error classes expect.
const sim = () => (exports as unknown as { default: Fetcher }).default;
const KEY = `${SIM_KEY_PREFIX}${crypto.randomUUID()}`;
const sent: Request[] = [];

function client(apiKey = KEY) {
  return new Anthropic({
    apiKey,
    maxRetries: 0,
    fetch: async (url: string | URL | Request, init?: RequestInit) => {
      const request = new Request(url, init);
      sent.push(request.clone());
      return sim().fetch(request);
    },
  });
}

const prompt = `Are these equivalent?\n\n<kalshi_market>\n${JSON.stringify({
  title: "Will CPI year-over-year inflation in March 2027 be above 2.6%?",
  rules:
    "If CPI year-over-year inflation for March 2027, as first published by the Bureau of Labor Statistics, is above 2.6%, the market resolves to Yes.",
  resolutionSource: "Bureau of Labor Statistics",
  closeTime: "2027-04-10T14:00:00.000Z",
})}\n</kalshi_market>\n\n<polymarket_market>\n${JSON.stringify({
  title: "CPI year-over-year inflation above 2.6% in March 2027?",
  rules:
    "If CPI year-over-year inflation for March 2027, as first published by the Bureau of Labor Statistics, is above 2.6%, this market resolves to Yes.",
  resolutionSource: "https://www.bureauoflaborstatistics.gov",
  closeTime: "2027-04-10T14:00:00.000Z",
})}\n</polymarket_market>`;

const params = (model = "claude-sonnet-5-5") => ({
  model,
  max_tokens: 512,
  messages: [{ role: "user" as const, content: prompt }],
  tools: [
    {
      name: "record_equivalence",
      description: "verdict",
      input_schema: { type: "object" as const, properties: {} },
    },
  ],
  tool_choice: { type: "tool" as const, name: "record_equivalence", disable_parallel_tool_use: true },
});

async function queue(fault: string, extra: Record<string, unknown> = {}) {
  await sim().fetch("https://api.anthropic.com/__sim/anthropic/faults", {
    method: "POST",
    body: JSON.stringify({ fault, count: 1, ...extra }),
  });
}

beforeEach(async () => {
  sent.length = 0;
  await sim().fetch("https://api.anthropic.com/__sim/anthropic/faults", { method: "DELETE" });
});

describe("the official SDK against the Anthropic double", () => {
  it("messages.create: the double accepts the SDK's request and the SDK reads the double's message", async () => {
    const { data: message, response } = await client().messages.create(params()).withResponse();
    expect(message.type).toBe("message");
    expect(message.stop_reason).toBe("tool_use");
    const use = message.content.find((b) => b.type === "tool_use");
    expect(use?.type === "tool_use" && use.name).toBe("record_equivalence");
    expect(use?.type === "tool_use" && (use.input as { grade: string }).grade).toBe("identical");
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    expect(response.headers.get("request-id")).toMatch(/^req_sim_/);
    // What the SDK put on the wire (and so what the double must accept).
    const [request] = sent;
    expect(request!.method).toBe("POST");
    expect(new URL(request!.url).href).toBe("https://api.anthropic.com/v1/messages");
    expect(request!.headers.get("authorization")).toBe(`Bearer ${KEY}`);
    expect(request!.headers.get("x-api-key")).toBeNull();
    expect(request!.headers.get("anthropic-version")).toBe("2026-10-21");
    expect(request!.headers.get("content-type")).toBe("application/json");
  });

  it("a retired model: the double's 404 is the SDK's NotFoundError with type not_found_error", async () => {
    const error = await client()
      .messages.create(params("claude-sonnet-4-5"))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).type).toBe("not_found_error");
    expect((error as NotFoundError).apiMessage).toBe("model: claude-sonnet-4-5");
    expect((error as NotFoundError).requestID).toMatch(/^req_sim_/);
  });

  it("maps the double's errors to the SDK's classes: 401, 400, 429 with retry-after, 529 overloaded", async () => {
    const denied = await client(["sk", "ant", "nope"].join("-"))
      .messages.create(params())
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(AuthenticationError);
    expect((denied as AuthenticationError).type).toBe("authentication_error");

    const extra = await client()
      .messages.create({ ...params(), temperature: 0 } as never)
      .catch((e: unknown) => e);
    expect(extra).toBeInstanceOf(BadRequestError);
    expect((extra as BadRequestError).type).toBe("invalid_request_error");

    await queue("429", { retryAfter: "7" });
    const limited = await client()
      .messages.create(params())
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as RateLimitError).headers.get("retry-after")).toBe("7");
    expect((limited as RateLimitError).type).toBe("rate_limit_error");

    await queue("529");
    const overloaded = await client()
      .messages.create(params())
      .catch((e: unknown) => e);
    expect(overloaded).toBeInstanceOf(InternalServerError);
    expect((overloaded as InternalServerError).status).toBe(529);
    expect((overloaded as InternalServerError).type).toBe("overloaded_error");
  });

  it("the SDK's own retry honours the double's retry-after-ms on a 529", async () => {
    await queue("529", { retryAfterMs: "1" });
    const retrying = new Anthropic({
      apiKey: KEY,
      maxRetries: 1,
      fetch: async (url: string | URL | Request, init?: RequestInit) => sim().fetch(new Request(url, init)),
    });
    const message = await retrying.messages.create(params());
    expect(message.stop_reason).toBe("tool_use");
  });
});
