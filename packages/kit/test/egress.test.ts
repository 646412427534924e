import { describe, expect, it } from "vitest";
import { createEgressFetch, EgressDeniedError, SPEC_EGRESS_HOSTS } from "../src/egress";

function recordingSimulator() {
  const seen: string[] = [];
  const fetcher = {
    fetch: async (url: string) => {
      seen.push(url);
      return new Response("ok");
    },
  } as unknown as Fetcher;
  return { seen, fetcher };
}

describe("createEgressFetch", () => {
  it("allows exactly the five hosts of the specification", () => {
    expect([...SPEC_EGRESS_HOSTS].sort()).toEqual([
      "api.anthropic.com",
      "api.elections.kalshi.com",
      "clob.polymarket.com",
      "data-api.polymarket.com",
      "gamma-api.polymarket.com",
    ]);
  });

  it("serves an allowed URL through the simulator with the original URL intact", async () => {
    const sim = recordingSimulator();
    const egress = createEgressFetch({ simulator: sim.fetcher });
    const res = await egress("https://api.elections.kalshi.com/trade-api/v2/markets?limit=5");
    expect(await res.text()).toBe("ok");
    expect(sim.seen).toEqual(["https://api.elections.kalshi.com/trade-api/v2/markets?limit=5"]);
  });

  it.each([
    ["another host", "https://evil.example.com/x"],
    ["a look-alike suffix", "https://api.elections.kalshi.com.evil.example/x"],
    ["plain http", "http://api.elections.kalshi.com/trade-api/v2/markets"],
    ["credentials in the URL", "https://user:pw@api.anthropic.com/v1/messages"],
  ])("refuses %s before any network I/O and counts it", async (_label, url) => {
    const sim = recordingSimulator();
    const errors: string[] = [];
    const egress = createEgressFetch({
      simulator: sim.fetcher,
      onError: (kind, host) => errors.push(`${kind}:${host}`),
    });
    await expect(egress(url)).rejects.toBeInstanceOf(EgressDeniedError);
    expect(sim.seen).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^egress_denied:/);
  });

  it("allows a configured extra host (the IBKR gateway) and nothing more", async () => {
    const sim = recordingSimulator();
    const egress = createEgressFetch({ simulator: sim.fetcher, extraHosts: ["ibkr-gw.example.net"] });
    await egress("https://ibkr-gw.example.net/v1/api/tickle");
    await expect(egress("https://other-gw.example.net/v1/api/tickle")).rejects.toThrow(
      /not on the allowlist/,
    );
    expect(sim.seen).toEqual(["https://ibkr-gw.example.net/v1/api/tickle"]);
  });

  it("counts a failing upstream as a network error and rethrows", async () => {
    const errors: string[] = [];
    const broken = {
      fetch: async () => {
        throw new Error("connection reset");
      },
    } as unknown as Fetcher;
    const egress = createEgressFetch({ simulator: broken, onError: (kind) => errors.push(kind) });
    await expect(egress("https://clob.polymarket.com/book?token_id=1")).rejects.toThrow("connection reset");
    expect(errors).toEqual(["network"]);
  });
});
