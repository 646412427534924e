import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { ExecutionRpc, GovernanceRpc, RiskRpc } from "@paulp/contracts";
import { anthropicKeyShaped, pemPrivateKeyStart } from "@paulp/testing/key-shapes";
import { beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../src/env";
import { buildRouter } from "../src/router";
import { accessToken, adminFetch, asPerson, gateway, newSigner } from "./helpers";

// Key-shaped fixtures come from @paulp/testing/key-shapes, assembled at run time: none is a real key.

type Envelope = { error: { code: string; message: string; details?: { issues: { field: string }[] } } };

const CARD = "4111 1111 1111 1111"; // the well-known Visa test number: Luhn-valid
const json = (method: string, body: unknown): RequestInit => ({
  method,
  body: JSON.stringify(body),
  headers: { "content-type": "application/json" },
});

/** Expect a 400 naming `field` and what it looks like, never echoing the value. */
async function expectRefused(res: Response, field: string, what: RegExp, value: string) {
  expect(res.status).toBe(400);
  const text = await res.text();
  expect(text).not.toContain(value);
  const { error } = JSON.parse(text) as Envelope;
  expect(error.code).toBe("validation_failed");
  expect(error.message.startsWith(`${field}: `), error.message).toBe(true);
  expect(error.message).toMatch(what);
}

const strategy = (over: Record<string, unknown>) => ({
  name: "Momentum 2024 Q3 v2",
  kind: "momentum",
  allocation: "100",
  venues: ["kalshi"],
  params: {},
  ...over,
});

let person: Record<string, string>;
beforeAll(async () => {
  person = asPerson(await accessToken(await newSigner(true), "alice@example.com"));
});

describe("sensitive data is refused at the gateway, naming the field", () => {
  it("a card number in a strategy name: 400 naming `name`, and no strategy stored", async () => {
    const before = ((await (await adminFetch("/admin/strategies")).json()) as unknown[]).length;
    for (const name of [`Alpha ${CARD}`, "Alpha 4111-1111-1111-1111", "Alpha 4111111111111111"]) {
      await expectRefused(
        await adminFetch("/admin/strategies", json("POST", strategy({ name }))),
        "name",
        /payment card number/,
        name,
      );
    }
    expect(((await (await adminFetch("/admin/strategies")).json()) as unknown[]).length).toBe(before);
  });

  it("anywhere in strategy params: strings, numbers, member names, credential members", async () => {
    for (const [params, field, what] of [
      [{ note: "call 123-45-6789" }, "params.note", /looks like a national identification number/],
      [{ legs: [{ memo: "x", card: 4111111111111111 }] }, "params.legs.0.card", /payment card/],
      [{ password: "hunter22" }, "params.password", /looks like a password/],
      [{ auth: "password=hunter22" }, "params.auth", /looks like a password/],
      [{ key: pemPrivateKeyStart() }, "params.key", /looks like a private key/],
    ] as const) {
      await expectRefused(
        await adminFetch("/admin/strategies", json("POST", strategy({ params }))),
        field,
        what,
        "hunter22",
      );
    }
  });

  it("breaker, rule and approval reasons and review notes", async () => {
    const breaker = (await (await adminFetch("/admin/circuit-breaker")).json()) as { version: number };
    await expectRefused(
      await adminFetch(
        "/admin/circuit-breaker/transition",
        json("POST", { targetState: "HALT", reason: "passwd: Tr0ub4dor&3" }),
      ),
      "reason",
      /password/,
      "Tr0ub4dor",
    );
    const after = (await (await adminFetch("/admin/circuit-breaker")).json()) as { version: number };
    expect(after.version).toBe(breaker.version);

    const rule = {
      id: "r1",
      kind: "keyword",
      value: "election",
      reason: anthropicKeyShaped(),
    };
    await expectRefused(
      await adminFetch("/admin/compliance/rules", json("PUT", { rules: [rule] })),
      "rules.0.reason",
      /API key/,
      rule.reason,
    );

    const reject = await gateway().fetch("https://gw.test/admin/approvals/no-such/reject", {
      ...json("POST", { reason: `customer card ${CARD}` }),
      headers: { ...person, "content-type": "application/json" },
    });
    await expectRefused(reject, "reason", /payment card/, CARD);

    const review = await gateway().fetch("https://gw.test/admin/pairs/no-such/review", {
      ...json("POST", { decision: "approve", note: "SSN 123456789 of the reviewer" }),
      headers: { ...person, "content-type": "application/json" },
    });
    await expectRefused(review, "note", /national identification/, "123456789");
  });

  it("ordinary text with numbers, tickers and ids passes", async () => {
    const res = await adminFetch(
      "/admin/strategies",
      json(
        "POST",
        strategy({
          name: "Fed cut Dec 2026 (max 1500 @ 0.56, ref 2026-12-01 12:00)",
          params: {
            ticker: "KXFEDDECISION-26DEC-C25",
            conditionId: `0x${"5f3a9c1e".repeat(8)}`,
            // A Polymarket CLOB token id: a 77-digit number, not a card.
            yesToken: "71321045679252212594626385532706912750332728571942532289631379312455583992563",
            minEdgeBps: 150,
            phone: "+1 415 555 2671",
            pinned: true,
            note: "the secret: size small; pin the hedge to the Kalshi leg",
          },
        }),
      ),
    );
    expect(res.status, await res.clone().text()).toBe(201);
  });
});

describe("the RPC boundaries refuse it too (the same schemas)", () => {
  const actor = { method: "token" as const, subject: "admin-token" };

  it("governance, risk and execution answer validation_failed", async () => {
    const gov = env.GOVERNANCE as unknown as GovernanceRpc;
    const created = await gov.createStrategy(strategy({ name: `x ${CARD}` }) as never, actor);
    expect(created.ok).toBe(false);
    if (!created.ok) expect(created.error.message).toMatch(/^name: .*payment card/);
    const rejected = await gov.reject("no-such", `card ${CARD}`, {
      method: "access",
      subject: "s",
      email: "alice@example.com",
    });
    expect(rejected.ok).toBe(false);
    if (!rejected.ok) expect(rejected.error.code).toBe("validation_failed");

    const risk = env.RISK as unknown as RiskRpc;
    const halted = await risk.transitionBreaker({ targetState: "HALT", reason: "pin=4821" }, actor);
    expect(halted.ok).toBe(false);
    if (!halted.ok) expect(halted.error.message).toMatch(/^reason: .*password/);

    const exec = env.EXECUTION as unknown as ExecutionRpc;
    const placed = await exec.placeOrder(
      {
        strategyId: "s1",
        venue: "kalshi",
        market: "KX-1",
        side: "buy",
        effect: "open",
        quantity: 1,
        limitPrice: "0.5",
        clientOrderId: "sensitive-note-1",
        evidenceHashes: ["0".repeat(64)],
      },
      actor,
      { kind: "manual", note: `paid with ${CARD}` },
    );
    expect(placed.ok).toBe(false);
    if (!placed.ok) expect(placed.error.message).toMatch(/^context\.note: .*payment card/);
  });
});

describe("what the gateway itself records", () => {
  /** Run one request through the router and wait for its audit record (waitUntil) to be appended. */
  async function recorded(path: string, headers: Record<string, string> = {}) {
    const ctx = createExecutionContext();
    await buildRouter().fetch(
      new Request(`https://gw.test${path}`, {
        headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, ...headers },
      }),
      env as unknown as Env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    const exported = await (await adminFetch("/admin/audit/export")).text();
    return exported
      .split("\n")
      .filter((l) => l.includes('"type":"gateway.admin_request"'))
      .map((l) => JSON.parse(l) as { payload: { path: string; requestId: string } })
      .at(-1)!.payload;
  }

  it("withholds a path that carries a card number, and never keeps such a request id", async () => {
    const entry = await recorded("/admin/orders/4111111111111111", { "x-request-id": "4111111111111111" });
    expect(entry.path).toMatch(/^\(withheld/);
    expect(entry.requestId).not.toBe("4111111111111111");
    const unknown = await recorded(`/admin/no-such/${encodeURIComponent(CARD)}`);
    expect(unknown.path).toMatch(/^\(withheld/);
    // An ordinary path is kept as it is.
    expect((await recorded("/admin/orders/man-abc12345")).path).toBe("/admin/orders/man-abc12345");
  });
});
