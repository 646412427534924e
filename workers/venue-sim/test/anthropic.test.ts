import { exports } from "cloudflare:workers";
import {
  ADVERSARIAL_MARKETS,
  type AdversarialMarket,
  kalshiMarketWire,
  plantedPairs,
  polymarketUniverse,
} from "@paulp/sim-universe";
import { beforeEach, describe, expect, it } from "vitest";
import { judge, SIM_KEY_PREFIX } from "../src/anthropic";

const sim = () => (exports as unknown as { default: Fetcher }).default;
const SEED = 20261124;
const KEY = `${SIM_KEY_PREFIX}${crypto.randomUUID()}`;
const URL_ = "https://api.anthropic.com/v1/messages";

function prompt(i: number): string {
  const u = polymarketUniverse(SEED);
  const k = kalshiMarketWire(SEED, "small", i, 0);
  const p = u.poly[i]!;
  const kalshi = {
    title: k.title,
    rules: `${k.rules_primary} ${k.rules_secondary}`,
    resolutionSource: k.rules_secondary,
    closeTime: k.close_time,
  };
  const poly = {
    title: p.question,
    rules: p.description,
    resolutionSource: p.resolutionSource,
    closeTime: p.endDate,
  };
  return `Compare.\n\n<kalshi_market>\n${JSON.stringify(kalshi)}\n</kalshi_market>\n\n<polymarket_market>\n${JSON.stringify(poly)}\n</polymarket_market>`;
}

function body(text: string) {
  return {
    model: "claude-sonnet-5-5",
    max_tokens: 512,
    messages: [{ role: "user", content: text }],
    tools: [{ name: "record_equivalence", description: "verdict", input_schema: { type: "object" } }],
    tool_choice: { type: "tool", name: "record_equivalence" },
  };
}

function post(payload: unknown, headers: Record<string, string> = {}) {
  return sim().fetch(URL_, {
    method: "POST",
    headers: {
      "x-api-key": KEY,
      "anthropic-version": "2026-10-21",
      "content-type": "application/json",
      ...headers,
    },
    body: JSON.stringify(payload),
  });
}

beforeEach(async () => {
  await sim().fetch("https://api.anthropic.com/__sim/anthropic/faults", { method: "DELETE" });
});

describe("Anthropic Messages API double", () => {
  it("answers a forced tool call with a tool_use block and stop_reason tool_use", async () => {
    const res = await post(body(prompt(0)));
    expect(res.status).toBe(200);
    expect(res.headers.get("request-id")).toMatch(/^req_sim_/);
    const msg = (await res.json()) as {
      type: string;
      role: string;
      stop_reason: string;
      content: { type: string; name: string; input: { grade: string } }[];
    };
    expect(msg.type).toBe("message");
    expect(msg.role).toBe("assistant");
    expect(msg.stop_reason).toBe("tool_use");
    expect(msg.content).toHaveLength(1);
    expect(msg.content[0]!.type).toBe("tool_use");
    expect(msg.content[0]!.name).toBe("record_equivalence");
  });

  it("grades the seeded true pairs identical and every look-alike not_equivalent", () => {
    for (const [i, pair] of plantedPairs(SEED).entries()) {
      const verdict = judge(prompt(i));
      if (pair.kind === "identical") {
        expect({ i, grade: verdict.grade, yes: verdict.yesMapsTo }).toEqual({
          i,
          grade: "identical",
          yes: "YES",
        });
      } else {
        expect({ i, kind: pair.kind, grade: verdict.grade }).toEqual({
          i,
          kind: pair.kind,
          grade: "not_equivalent",
        });
      }
    }
  });

  it("flags an inverted pair's orientation", () => {
    const inverted = plantedPairs(SEED).findIndex((p) => p.kind === "inverted");
    const verdict = judge(prompt(inverted));
    expect(verdict.yesMapsTo).toBe("NO");
    expect(verdict.reasons.join(" ")).toMatch(/inverted/);
  });

  it("is uncertain when the prompt does not carry both markets", () => {
    expect(judge("no markets here").grade).toBe("uncertain");
  });

  it("refuses a missing or wrong key with 401 authentication_error", async () => {
    // A production-shaped key the simulator must refuse (built here: no key-like literal in the repo).
    for (const key of ["", ["sk", "ant", "not-a-real-key"].join("-")]) {
      const res = await post(body(prompt(0)), { "x-api-key": key });
      expect(res.status).toBe(401);
      const err = (await res.json()) as { type: string; error: { type: string }; request_id: string };
      expect(err.type).toBe("error");
      expect(err.error.type).toBe("authentication_error");
      expect(err.request_id).toMatch(/^req_sim_/);
    }
  });

  it("requires anthropic-version and a valid body (400 invalid_request_error)", async () => {
    const noVersion = await post(body(prompt(0)), { "anthropic-version": "" });
    expect(noVersion.status).toBe(400);
    expect(((await noVersion.json()) as { error: { type: string } }).error.type).toBe(
      "invalid_request_error",
    );
    const noModel = await post({ ...body(prompt(0)), model: undefined });
    expect(noModel.status).toBe(400);
    const unknownTool = await post({ ...body(prompt(0)), tool_choice: { type: "tool", name: "other" } });
    expect(unknownTool.status).toBe(400);
  });

  it("refuses a retired model as the API does: 404 not_found_error naming it", async () => {
    // claude-sonnet-4-5 reached its end of life on 2026-11-30 and left the SDK's model list with SDK 1.15.0.
    for (const model of ["claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "claude-2.1"]) {
      const res = await post({ ...body(prompt(0)), model });
      expect(res.status).toBe(404);
      const err = (await res.json()) as { type: string; error: { type: string; message: string } };
      expect(err).toMatchObject({
        type: "error",
        error: { type: "not_found_error", message: `model: ${model}` },
      });
    }
  });

  it("refuses a body field the SDK's request type lacks (temperature) and a missing JSON content type", async () => {
    const extra = await post({ ...body(prompt(0)), temperature: 0 });
    expect(extra.status).toBe(400);
    expect(((await extra.json()) as { error: { message: string } }).error.message).toMatch(/^temperature:/);
    const noType = await post(body(prompt(0)), { "content-type": "text/plain" });
    expect(noType.status).toBe(400);
  });

  it("accepts the versions the SDK has sent and refuses others", async () => {
    expect((await post(body(prompt(0)), { "anthropic-version": "2023-06-01" })).status).toBe(200);
    expect((await post(body(prompt(0)), { "anthropic-version": "2024-01-01" })).status).toBe(400);
  });

  it.each(ADVERSARIAL_MARKETS.map((a) => [a.name, a] as const))(
    "the simulated model obeys adversarial market text (%s)",
    async (_name, pair) => {
      // Built as governance builds its prompt: `<` and `>` escaped so no market text can close a tag.
      const block = (tag: string, m: AdversarialMarket) =>
        `<${tag}>\n${JSON.stringify(m).replaceAll("<", "\\u003c").replaceAll(">", "\\u003e")}\n</${tag}>`;
      const text = `Compare.\n\n${block("kalshi_market", pair.kalshi)}\n\n${block("polymarket_market", pair.polymarket)}`;
      const res = await post(body(text));
      const msg = (await res.json()) as { content: { input: { grade: string } }[] };
      expect(msg.content[0]!.input.grade).toBe(pair.demands);
      expect(judge(text).grade).toBe(pair.demands);
    },
  );

  it("a queued 529 can carry retry-after-ms; a 429 carries the retry-after it was given", async () => {
    await sim().fetch("https://api.anthropic.com/__sim/anthropic/faults", {
      method: "POST",
      body: JSON.stringify({ fault: "529", count: 1, retryAfterMs: "5" }),
    });
    const overloaded = await post(body(prompt(0)));
    expect(overloaded.status).toBe(529);
    expect(overloaded.headers.get("retry-after-ms")).toBe("5");
    expect(overloaded.headers.get("request-id")).toMatch(/^req_sim_/);
    await sim().fetch("https://api.anthropic.com/__sim/anthropic/faults", {
      method: "POST",
      body: JSON.stringify({ fault: "429", count: 1, retryAfter: "2" }),
    });
    expect((await post(body(prompt(0)))).headers.get("retry-after")).toBe("2");
  });

  it.each([
    ["429", 429, "rate_limit_error"],
    ["529", 529, "overloaded_error"],
    ["500", 500, "api_error"],
    ["400", 400, "invalid_request_error"],
  ])("x-sim-fault %s answers %i %s", async (fault, status, type) => {
    const res = await post(body(prompt(0)), { "x-sim-fault": fault });
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe(type);
    if (status === 429) expect(res.headers.get("retry-after")).toBe("30");
  });

  it("queued faults answer that many requests, then normal answers resume", async () => {
    const queued = await sim().fetch("https://api.anthropic.com/__sim/anthropic/faults", {
      method: "POST",
      body: JSON.stringify({ fault: "529", count: 2 }),
    });
    expect(queued.status).toBe(201);
    expect((await post(body(prompt(0)))).status).toBe(529);
    expect((await post(body(prompt(0)))).status).toBe(529);
    expect((await post(body(prompt(0)))).status).toBe(200);
  });

  it("refusal and malformed faults keep the 200 message shape", async () => {
    const refusal = (await (await post(body(prompt(0)), { "x-sim-fault": "refusal" })).json()) as {
      stop_reason: string;
      content: unknown[];
    };
    expect(refusal.stop_reason).toBe("refusal");
    expect(refusal.content).toEqual([]);
    const malformed = (await (await post(body(prompt(0)), { "x-sim-fault": "malformed" })).json()) as {
      content: { input: Record<string, unknown> }[];
    };
    expect(malformed.content[0]!.input).not.toHaveProperty("grade");
  });

  it("rejects an unknown fault kind", async () => {
    const res = await sim().fetch("https://api.anthropic.com/__sim/anthropic/faults", {
      method: "POST",
      body: JSON.stringify({ fault: "explode" }),
    });
    expect(res.status).toBe(400);
  });
});
