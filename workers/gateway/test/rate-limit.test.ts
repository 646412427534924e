import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ALL_CLIENTS, clientOf } from "../src/middleware";
import { gateway } from "./helpers";

const withIp = (ip: string) => new Request("https://gw.test/", { headers: { "cf-connecting-ip": ip } });
const failFrom = (ip: string) =>
  gateway().fetch("https://gw.test/admin/whoami", {
    headers: { authorization: `Bearer ${"y".repeat(43)}`, "cf-connecting-ip": ip },
  });

describe("whom a failed authentication is counted against", () => {
  it("an address as its network only: IPv4 as its /24, IPv6 as its /48, however it is written", () => {
    expect(clientOf(withIp("198.51.100.7"))).toBe("198.51.100.0/24");
    expect(clientOf(withIp("2001:db8:0:1::a"))).toBe("2001:db8:0::/48");
    expect(clientOf(withIp("2001:0db8:0007:0001:ffff:1:2:3"))).toBe("2001:db8:7::/48");
    expect(clientOf(withIp("2001:db8::1"))).toBe("2001:db8:0::/48");
    expect(clientOf(new Request("https://gw.test/"))).toBe("unknown");
    expect(clientOf(withIp("not an address"))).toBe("unknown");
  });

  // Miniflare's limiter counts in fixed 60 s windows: a loop runs until the first 429 and allows for one
  // window ending during it (which restarts the count), so the tests cannot flake on the clock.
  it("addresses rotated within one /48 share one budget", async () => {
    let failures = 0;
    for (; failures < 62; failures++) {
      const res = await failFrom(`2001:db8:aa:${(failures + 1).toString(16)}::1`);
      if (res.status === 429) break;
      expect(res.status).toBe(401);
    }
    expect(failures).toBeGreaterThanOrEqual(30);
    expect(failures).toBeLessThan(62);
    expect((await failFrom("2001:db8:ab:1::1")).status).toBe(401); // the next /48 is another client
  });

  it("a flood spread over many addresses is limited too, and a valid credential still works", async () => {
    // The flood's first failures go through the gateway as any would; the rest of the minute's 300 are played
    // straight into the all-clients limiter: 300 real failures (each one audited) outlasted the 60 s window on a
    // loaded machine, and a new window restarted the count. Then a failure from an address never seen before
    // is answered 429, which only the limit over all clients can do.
    const allClients = (env as unknown as { AUTH_FAILURES_ALL: RateLimit }).AUTH_FAILURES_ALL;
    const statuses = await Promise.all(Array.from({ length: 5 }, (_, k) => failFrom(`10.66.${k}.9`)));
    expect(statuses.every((r) => r.status === 401 || r.status === 429)).toBe(true);
    let refused: number | null = null;
    // A window can end between the flood and the probe (at most once a minute): then the flood is played again.
    for (let attempt = 0; attempt < 3 && refused !== 429; attempt++) {
      for (let spent = 0; (await allClients.limit({ key: ALL_CLIENTS })).success; spent++)
        expect(spent).toBeLessThan(700); // two windows' worth at most
      refused = (await failFrom(`10.77.${attempt}.9`)).status;
      expect([401, 429]).toContain(refused);
    }
    expect(refused).toBe(429);
    const ok = await gateway().fetch("https://gw.test/admin/whoami", {
      headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, "cf-connecting-ip": "10.99.99.99" },
    });
    expect(ok.status).toBe(200);
  });
});
