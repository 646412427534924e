import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { adminTokenProblem } from "../src/auth/admin-token";
import type { Env } from "../src/env";
import { buildRouter } from "../src/router";
import { AUD, accessToken, asPerson, gateway, newSigner, TEAM, type TestSigner } from "./helpers";
import { type LimiterClock, limitersOn } from "./rate-limiter";

const status = (headers: Record<string, string> = {}) =>
  gateway().fetch("https://gw.test/admin/status", { headers });

async function expectUnauthorized(res: Response, messagePart?: string) {
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe("unauthorized");
  if (messagePart) expect(body.error.message).toContain(messagePart);
}

/** Run the gateway router against a modified environment (a broken binding, a bad token). */
async function withEnv(
  overrides: Partial<Env>,
  path = "/admin/status",
  headers: Record<string, string> = {},
) {
  const ctx = createExecutionContext();
  const res = await buildRouter().fetch(
    new Request(`https://gw.test${path}`, { headers }),
    { ...env, ...overrides } as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe("bearer token", () => {
  it("refuses a request with no credentials, with a challenge and the JSON envelope", async () => {
    await expectUnauthorized(await status(), "missing credentials");
  });

  it("refuses a wrong token of the right length", async () => {
    const wrong = env.ADMIN_TOKEN.split("").reverse().join("");
    expect(wrong).toHaveLength(env.ADMIN_TOKEN.length);
    await expectUnauthorized(await status({ authorization: `Bearer ${wrong}` }), "invalid admin token");
  });

  it("refuses another auth scheme", async () => {
    await expectUnauthorized(await status({ authorization: `Basic ${btoa(`admin:${env.ADMIN_TOKEN}`)}` }));
  });

  it("accepts the right token as the single admin-token principal", async () => {
    const res = await gateway().fetch("https://gw.test/admin/whoami", {
      headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ principal: { method: "token", subject: "admin-token" } });
  });

  it("runs nothing after the auth step when authentication fails", async () => {
    let healthCalls = 0;
    const spy = {
      health: async () => {
        healthCalls += 1;
        return { service: "risk" as const, ok: true, checks: [] };
      },
    };
    const res = await withEnv({ RISK: spy as unknown as Env["RISK"] }, "/admin/status", {
      authorization: "Bearer nope",
    });
    expect(res.status).toBe(401);
    expect(healthCalls).toBe(0);
  });
});

/** What every caller without a working credential is told while ADMIN_TOKEN is refused: that, never why. */
const CLOSED = "admin authentication is misconfigured: every admin route is closed until it is fixed";

describe("ADMIN_TOKEN strength", () => {
  it.each([
    ["unset", undefined, "not set"],
    ["shorter than 32 characters", "Zx9-kQ2_mW7pL4", "shorter than 32"],
    ["a repeated pair", "ab".repeat(24), "guessable"],
    ["a repeated digit sequence", "0123456789".repeat(4), "guessable"],
    ["a keyboard walk", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.", "guessable"],
    ["dictionary words", "correcthorsebatterystaplecorrecthorse", "guessable"],
    ["a password repeated", "Password1Password1Password1Password1", "guessable"],
    ["a short random token repeated", "Zx9-kQ2_mW7pL4Zx9-kQ2_mW7pL4Zx9-kQ2_mW7pL4", "guessable"],
    ["timestamps", "2024-01-01T00:00:00Z2024-01-01T00:00", "guessable"],
    ["words about this system", "tradingsystemadmintokenforpaulp2024", "guessable"],
  ])("refuses an ADMIN_TOKEN that is %s", async (_label, token, reason) => {
    expect(await adminTokenProblem(token)).toContain(reason);
  });

  // zxcvbn takes up to a second of CPU per long token on a loaded machine, hence few samples and a long timeout.
  it("accepts random tokens of 32 bytes, as pnpm dev and the runbook make them", {
    timeout: 60_000,
  }, async () => {
    const bytes = (n: number) => crypto.getRandomValues(new Uint8Array(n));
    const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    const b64url = (b: Uint8Array) =>
      btoa(String.fromCharCode(...b))
        .replaceAll("+", "-")
        .replaceAll("/", "_")
        .replaceAll("=", "");
    expect(await adminTokenProblem(b64url(bytes(32)))).toBeNull();
    expect(await adminTokenProblem(btoa(String.fromCharCode(...bytes(32))))).toBeNull();
    expect(await adminTokenProblem(hex(bytes(32)))).toBeNull();
    expect(await adminTokenProblem(env.ADMIN_TOKEN)).toBeNull();
  });

  it("closes every admin route with 503 for a weak token, telling the caller that, not why", async () => {
    const token = "0123456789".repeat(4);
    for (const path of ["/admin/status", "/admin/whoami", "/admin/no-such-route"]) {
      const headersList: Record<string, string>[] = [{ authorization: `Bearer ${token}` }, {}];
      for (const headers of headersList) {
        const res = await withEnv({ ADMIN_TOKEN: token }, path, headers);
        expect(res.status).toBe(503);
        expect(await res.json()).toEqual({ error: { code: "admin_auth_misconfigured", message: CLOSED } });
      }
    }
  });
});

describe("Cloudflare Access", () => {
  let trusted: TestSigner;
  let stranger: TestSigner;
  beforeAll(async () => {
    trusted = await newSigner(true);
    stranger = await newSigner(false);
  });

  it("accepts a valid JWT from the team JWKS and names the person", async () => {
    const token = await accessToken(trusted, "Alice@Example.com");
    const res = await gateway().fetch("https://gw.test/admin/whoami", {
      headers: asPerson(token, "alice@example.com"),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      principal: { method: "access", subject: "sub-Alice@Example.com", email: "alice@example.com" },
    });
    expect((await status(asPerson(token))).status).toBe(200);
  });

  it("never authenticates on the email header alone", async () => {
    await expectUnauthorized(
      await status({ "cf-access-authenticated-user-email": "alice@example.com" }),
      "email header alone",
    );
  });

  it("refuses an email header that does not match the verified token", async () => {
    const token = await accessToken(trusted, "alice@example.com");
    await expectUnauthorized(await status(asPerson(token, "mallory@example.com")), "does not match");
  });

  it("refuses a JWT signed by an unknown key", async () => {
    const token = await accessToken(stranger, "alice@example.com");
    await expectUnauthorized(await status(asPerson(token)), "unknown key");
  });

  it("refuses a JWT for another audience", async () => {
    const token = await trusted.sign({ email: "alice@example.com", aud: "someone-else" });
    await expectUnauthorized(await status(asPerson(token)), "aud");
  });

  it("refuses an expired JWT", async () => {
    const token = await trusted.sign(
      { email: "alice@example.com" },
      { expiresIn: Math.floor(Date.now() / 1000) - 120 },
    );
    await expectUnauthorized(await status(asPerson(token)), "expired");
  });

  it("refuses alg none", async () => {
    const enc = (o: object) =>
      btoa(JSON.stringify(o)).replaceAll("=", "").replaceAll("+", "-").replaceAll("/", "_");
    const now = Math.floor(Date.now() / 1000);
    const token = `${enc({ alg: "none", typ: "JWT" })}.${enc({ iss: `https://${TEAM}`, aud: AUD, sub: "x", email: "alice@example.com", exp: now + 600 })}.`;
    await expectUnauthorized(await status(asPerson(token)));
  });

  it("refuses, never bypasses, when the JWKS is unreachable", async () => {
    const token = await accessToken(trusted, "alice@example.com");
    const down = { fetch: async () => new Response("bad gateway", { status: 502 }) } as unknown as Fetcher;
    const res = await withEnv(
      { VENUE_SIM: down, ACCESS_TEAM_DOMAIN: "unreachable.cloudflareaccess.com" },
      "/admin/status",
      asPerson(token),
    );
    await expectUnauthorized(res);
  });

  it("with a refused ADMIN_TOKEN: logs why (never the token), and shows why on /admin/status to a person signed in through Access", async () => {
    const token = "0123456789".repeat(4);
    const logged: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
      logged.push(args.map(String).join(" "));
    });
    try {
      await withEnv({ ADMIN_TOKEN: token }, "/admin/whoami", { authorization: `Bearer ${token}` });
    } finally {
      spy.mockRestore();
    }
    expect(logged.some((l) => l.includes("ADMIN_TOKEN is guessable"))).toBe(true);
    expect(logged.join("\n")).not.toContain(token);
    expect(logged.join("\n")).not.toContain("0123456789");

    const person = asPerson(await accessToken(trusted, "alice@example.com"));
    const status = await withEnv({ ADMIN_TOKEN: token }, "/admin/status", person);
    expect(status.status).toBe(503);
    const body = (await status.json()) as {
      status: string;
      failing: string[];
      services: { gateway: { ok: boolean; error?: string } };
    };
    expect(body.status).toBe("degraded");
    expect(body.failing).toContain("gateway");
    expect(body.services.gateway.ok).toBe(false);
    expect(body.services.gateway.error).toContain("ADMIN_TOKEN is guessable");
    expect(JSON.stringify(body)).not.toContain(token);
    // Only the status: every other route stays closed, for persons too.
    const whoami = await withEnv({ ADMIN_TOKEN: token }, "/admin/whoami", person);
    expect(whoami.status).toBe(503);
    expect(((await whoami.json()) as { error: { message: string } }).error.message).toBe(CLOSED);
    // A failed or missing Access sign-in learns nothing more on the status route (an expired token from the
    // same signer: its key is known, so no JWKS refetch is involved).
    const expired = asPerson(
      await trusted.sign({ email: "eve@example.com" }, { expiresIn: Math.floor(Date.now() / 1000) - 120 }),
    );
    const headersList: Record<string, string>[] = [expired, { authorization: `Bearer ${token}` }];
    for (const headers of headersList) {
      const res = await withEnv({ ADMIN_TOKEN: token }, "/admin/status", headers);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: { code: "admin_auth_misconfigured", message: CLOSED } });
    }
  });

  it("during a JWKS outage asks once, then refuses at once instead of refetching for every request", async () => {
    const token = await accessToken(trusted, "alice@example.com");
    let fetches = 0;
    const down = {
      fetch: async () => {
        fetches += 1;
        return new Response("bad gateway", { status: 502 });
      },
    } as unknown as Fetcher;
    const overrides = { VENUE_SIM: down, ACCESS_TEAM_DOMAIN: "outage.cloudflareaccess.com" };
    // Concurrent requests share one fetch; later ones meet the cooldown and are refused without a fetch.
    const first = await Promise.all(
      [1, 2, 3].map(() => withEnv(overrides, "/admin/status", asPerson(token))),
    );
    for (const res of first) await expectUnauthorized(res, "Access keys");
    for (let i = 0; i < 3; i++)
      await expectUnauthorized(await withEnv(overrides, "/admin/status", asPerson(token)));
    expect(fetches).toBe(1);
  });

  it("refuses a JWT when Access is not configured", async () => {
    const token = await accessToken(trusted, "alice@example.com");
    const res = await withEnv({ ACCESS_TEAM_DOMAIN: "", ACCESS_AUD: "" }, "/admin/status", asPerson(token));
    await expectUnauthorized(res, "not configured");
  });
});

describe("routing", () => {
  it("answers /health publicly", async () => {
    const res = await gateway().fetch("https://gw.test/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", service: "gateway" });
  });

  it("answers an unknown route with a 404 envelope", async () => {
    const res = await gateway().fetch("https://gw.test/nope");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });

  it("authenticates before revealing whether an admin route exists", async () => {
    expect((await gateway().fetch("https://gw.test/admin/nope")).status).toBe(401);
  });
});

describe("Cloudflare Access issuer", () => {
  it("refuses a JWT issued by another team", async () => {
    const signer = await newSigner(true);
    const token = await signer.sign({
      email: "alice@example.com",
      iss: "https://other-team.cloudflareaccess.com",
    });
    const res = await gateway().fetch("https://gw.test/admin/status", { headers: asPerson(token) });
    expect(res.status).toBe(401);
  });
});

describe("dev sign-in", () => {
  it("mints a token the gateway accepts when the dev-only simulator binding exists", async () => {
    const res = await gateway().fetch("https://gw.test/dev/access-token", {
      method: "POST",
      body: JSON.stringify({ email: "bob@example.com" }),
    });
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    const who = await gateway().fetch("https://gw.test/admin/whoami", {
      headers: asPerson(token, "bob@example.com"),
    });
    expect(((await who.json()) as { principal: { email: string } }).principal.email).toBe("bob@example.com");
  });

  it("gives a request on a real hostname no simulator, even where VENUE_SIM is bound (a mis-deployed dev config)", async () => {
    const minted = await gateway().fetch("https://gw.test/dev/access-token", {
      method: "POST",
      body: JSON.stringify({ email: "mallory@example.com" }),
    });
    const { token } = (await minted.json()) as { token: string };
    const dev = await gateway().fetch("https://admin.paulp.example/dev/access-token", {
      method: "POST",
      body: JSON.stringify({ email: "mallory@example.com" }),
    });
    expect(dev.status).toBe(404);
    // The simulator-signed token is checked against the real team JWKS there, which it cannot pass.
    const who = await gateway().fetch("https://admin.paulp.example/admin/whoami", {
      headers: asPerson(token, "mallory@example.com"),
    });
    expect(who.status).toBe(401);
  });

  it("does not exist where VENUE_SIM is not bound (every deployed environment)", async () => {
    const ctx = createExecutionContext();
    const res = await buildRouter().fetch(
      new Request("https://gw.test/dev/access-token", {
        method: "POST",
        body: JSON.stringify({ email: "bob@example.com" }),
      }),
      { ...env, VENUE_SIM: undefined } as Env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(404);
  });
});

/** The audit chain's entries, read through the gateway's export with the admin token. */
/**
 * One request through the gateway's router, answered once its waitUntil work is done: the admin-request audit
 * runs after the answer, so a test that counts audit entries awaits that work instead of polling the export.
 */
async function settledFetch(url: string, init: RequestInit, overrides: Partial<Env> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await buildRouter().fetch(new Request(url, init), { ...env, ...overrides } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

async function exportedEntries(): Promise<{ type: string; payload: Record<string, unknown> }[]> {
  const res = await gateway().fetch("https://gw.test/admin/audit/export", {
    headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, "cf-connecting-ip": "192.0.2.1" },
  });
  return (await res.text())
    .split("\n")
    .filter((l) => l.includes('"kind":"entry"'))
    .map((l) => JSON.parse(l) as { type: string; payload: Record<string, unknown> });
}

// The Workers Rate Limiting binding counts failed authentications per client. These tests run the gateway against
// limiters with wrangler.jsonc's limits on a clock the test moves (test/rate-limiter.ts): Miniflare's own binding
// counts in fixed 60 s windows of workerd's wall clock, and a window ending mid-test is not the test's to choose.
describe("failed authentications are rate limited per client", () => {
  const from = (limiters: Partial<Env>, ip: string, token: string) =>
    settledFetch(
      "https://gw.test/admin/audit/status",
      { headers: { authorization: `Bearer ${token}`, "cf-connecting-ip": ip } },
      limiters,
    );

  it("the limiters doubled here are the ones wrangler.jsonc binds", () => {
    expect(Object.keys(env.TEST_RATE_LIMITS).sort()).toEqual([
      "AUTH_FAILURES",
      "AUTH_FAILURES_ALL",
      "AUTH_FAILURE_AUDIT",
    ]);
    for (const name of ["AUTH_FAILURES", "AUTH_FAILURES_ALL", "AUTH_FAILURE_AUDIT"] as const)
      expect(typeof env[name]?.limit).toBe("function");
  });

  it("answers 429 past 30 failures a minute, keeps accepting a valid credential, and audits the flood once a minute", async () => {
    const clock: LimiterClock = { nowMs: 0 };
    const limiters = limitersOn(clock);
    const ip = "198.51.100.77";
    const wrong = "x".repeat(43);
    const perClient = env.TEST_RATE_LIMITS.AUTH_FAILURES!.limit;
    expect(perClient).toBe(30);
    for (let i = 0; i < perClient; i++) expect((await from(limiters, ip, wrong)).status).toBe(401);
    const limited = await from(limiters, ip, wrong);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
    for (let i = 0; i < 5; i++) expect((await from(limiters, ip, wrong)).status).toBe(429);
    // Only failures count: the right token from the same address still works; another address is untouched.
    expect((await from(limiters, ip, env.ADMIN_TOKEN)).status).toBe(200);
    expect((await from(limiters, "203.0.113.9", wrong)).status).toBe(401);

    // Every request above was settled (its audit appended) before the next: the export is complete.
    const entries = await exportedEntries();
    const flood = entries.filter((e) => e.type === "gateway.auth_rate_limited");
    expect(flood).toHaveLength(1);
    // The network, not the address: IPv4 truncated to its /24 (the full address is nowhere in the chain).
    expect(flood[0]!.payload).toMatchObject({ client: "198.51.100.0/24", status: 429, outcome: "denied" });
    expect(JSON.stringify(entries)).not.toContain(ip);
    const denied = entries.filter(
      (e) =>
        e.type === "gateway.admin_request" &&
        e.payload.status === 401 &&
        e.payload.path === "/admin/audit/status",
    );
    expect(denied.length).toBeGreaterThanOrEqual(perClient);
    expect(flood[0]!.payload.limit).toBe("client");
    expect(JSON.stringify(entries)).not.toContain(wrong);

    // A minute on, the client's failures count afresh, and its next flood is audited again (once).
    clock.nowMs += 60_000;
    for (let i = 0; i < perClient; i++) expect((await from(limiters, ip, wrong)).status).toBe(401);
    for (let i = 0; i < 3; i++) expect((await from(limiters, ip, wrong)).status).toBe(429);
    const floods = (await exportedEntries()).filter((e) => e.type === "gateway.auth_rate_limited");
    expect(floods).toHaveLength(2);
  });
});

// Behind Cloudflare Access a browser's cookie authenticates, so a page on another site must not be able to
// make an operator's browser act. Programs (curl, the CLI) send no Sec-Fetch-Site or Origin and are unaffected.
describe("cross-site admin writes are refused", () => {
  const transition = async (headers: Record<string, string>) =>
    gateway().fetch("https://gw.test/admin/circuit-breaker/transition", {
      method: "POST",
      headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, "content-type": "application/json", ...headers },
      body: JSON.stringify({
        targetState: "CAUTION",
        reason: "csrf probe",
        expectedVersion: await breakerState(),
      }),
    });
  const breakerState = async () => {
    const res = await gateway().fetch("https://gw.test/admin/circuit-breaker", {
      headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, "sec-fetch-site": "cross-site" },
    });
    expect(res.status).toBe(200); // reading is not an action (and CORS keeps other sites from reading it)
    return ((await res.json()) as { state: string; version: number }).version;
  };

  it("refuses a write marked cross-site or same-site, or from another Origin, and changes nothing", async () => {
    const before = await breakerState();
    const attempts: Record<string, string>[] = [
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
      { origin: "https://evil.example" },
    ];
    for (const headers of attempts) {
      const res = await transition(headers);
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("forbidden");
    }
    expect(await breakerState()).toBe(before);
  });

  it("accepts the console's own origin and programs that send neither header", async () => {
    const before = await breakerState();
    expect((await transition({ "sec-fetch-site": "same-origin", origin: "https://gw.test" })).status).toBe(
      200,
    );
    const back = await gateway().fetch("https://gw.test/admin/circuit-breaker/transition", {
      method: "POST",
      headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ targetState: "NORMAL", reason: "csrf probe over", expectedVersion: before + 1 }),
    });
    expect(back.status).toBe(200);
    expect(await breakerState()).toBe(before + 2);
  });
});

// Requests refused before anyone is authenticated must not be a way to fill the audit chain either.
describe("unauthenticated refusals cannot flood the audit chain", () => {
  // Each request is settled (its audit appended or skipped) before the next, so one export counts them all.
  const settled = async (pick: (e: { type: string; payload: Record<string, unknown> }) => boolean) =>
    (await exportedEntries()).filter(pick).length;

  it("cross-site writes without credentials count as failed authentications: 429 past the limit, sampled", async () => {
    // Another /24 than the rate-limit test above: clients are counted by network, not by address.
    const ip = "192.0.2.200";
    // On the test's clock (test/rate-limiter.ts): one window throughout.
    const limiters = limitersOn({ nowMs: 0 });
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await settledFetch(
        "https://gw.test/admin/audit/anchor",
        { method: "POST", headers: { "cf-connecting-ip": ip, "sec-fetch-site": "cross-site" } },
        limiters,
      );
      statuses.push(res.status);
    }
    expect(statuses).toEqual([...Array(30).fill(403), ...Array(10).fill(429)]);
    const recorded = await settled(
      (e) =>
        e.type === "gateway.admin_request" &&
        e.payload.path === "/admin/audit/anchor" &&
        e.payload.status === 403,
    );
    // One limit window's worth: the refusals past the limit are sampled (one flood record), not each audited.
    expect(recorded).toBe(30);
  });

  it("paths that merely start with /admin are not admin routes: 404, and not audited", async () => {
    for (let i = 0; i < 20; i++) {
      const res = await settledFetch(`https://gw.test/adminx${i}`, {
        headers: { "cf-connecting-ip": "198.51.100.201" },
      });
      expect(res.status).toBe(404);
    }
    expect(await settled((e) => String(e.payload.path).startsWith("/adminx"))).toBe(0);
  });
});

describe("a worker behind the gateway that throws", () => {
  it("is answered 503 service_unavailable (as risk's routes do), not the gateway's own 500", async () => {
    const thrown = Object.assign(new Error("Worker exceeded CPU time limit."), { remote: true });
    const EXECUTION = {
      listOrders: async () => {
        throw thrown;
      },
    } as unknown as Env["EXECUTION"];
    const res = await withEnv({ EXECUTION }, "/admin/orders", { authorization: `Bearer ${env.ADMIN_TOKEN}` });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("service_unavailable");
    // A bug in the gateway itself (not remote) is still its own 500: here it hashes evidence that has no bytes.
    const INGESTION = {
      getEvidence: async () => ({ ok: true, value: {} }),
    } as unknown as Env["INGESTION"];
    const own = await withEnv({ INGESTION }, `/admin/evidence/${"a".repeat(64)}`, {
      authorization: `Bearer ${env.ADMIN_TOKEN}`,
    });
    expect(own.status).toBe(500);
  });
});
