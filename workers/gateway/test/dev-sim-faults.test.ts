// The dev-only simulator routes (`POST /admin/dev/sim-faults`, `…/clear`, `/admin/dev/sim-clock`): what the browser
// tests use to make IBKR's snapshot fail and so own an open hedge obligation, on a book that cannot move meanwhile. They reach the real simulator, only with admin
// authentication, only where VENUE_SIM is bound and only for a local host; a refusal is the JSON envelope.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../src/env";
import { buildRouter } from "../src/router";
import { adminFetch, gateway, json, post } from "./helpers";

const SNAPSHOT = "/v1/api/iserver/marketdata/snapshot";
const IBKR = "https://ibkr-gateway.paulp.local";

/** The simulator's own answer to an IBKR snapshot request (no session needed for a fault to answer first). */
const snapshotStatus = async () =>
  (await env.VENUE_SIM.fetch(`${IBKR}${SNAPSHOT}?conids=265598&fields=31,84,86`)).status;

const faults = async () =>
  (
    await json<{ faults: { kind: string; pathPrefix: string }[] }>(
      env.VENUE_SIM.fetch(`${IBKR}/__sim/faults`),
    )
  ).faults;

describe("dev simulator faults", () => {
  it("sets a fault the simulator then answers with, and clears it", async () => {
    expect(await snapshotStatus()).not.toBe(503);
    const set = await adminFetch(
      "/admin/dev/sim-faults",
      post({ host: "ibkr-gateway.paulp.local", pathPrefix: SNAPSHOT, kind: "server_error" }),
    );
    expect(set.status).toBe(201);
    const { fault } = (await set.json()) as { fault: { id: string; kind: string; pathPrefix: string } };
    expect(fault).toMatchObject({ kind: "server_error", pathPrefix: SNAPSHOT });
    expect(await faults()).toEqual([expect.objectContaining({ kind: "server_error", pathPrefix: SNAPSHOT })]);
    // Until cleared, every snapshot fails (no `times`).
    expect(await snapshotStatus()).toBe(503);
    expect(await snapshotStatus()).toBe(503);

    const cleared = await adminFetch("/admin/dev/sim-faults/clear", { method: "POST" });
    expect(cleared.status).toBe(200);
    expect(await faults()).toEqual([]);
    expect(await snapshotStatus()).not.toBe(503);
  });

  it("answers the simulator's refusal of a fault as a 400 envelope, and a body that is no fault before asking it", async () => {
    const unknownKind = await adminFetch(
      "/admin/dev/sim-faults",
      post({ host: "ibkr-gateway.paulp.local", kind: "meteor_strike" }),
    );
    expect(unknownKind.status).toBe(400);
    const body = (await unknownKind.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("validation_failed");
    expect(body.error.message).toContain("the simulator refused the fault");
    const noHost = await adminFetch("/admin/dev/sim-faults", post({ kind: "server_error" }));
    expect(noHost.status).toBe(400);
    expect(((await noHost.json()) as { error: { code: string } }).error.code).toBe("validation_failed");
    expect(await faults()).toEqual([]);
  });

  it("needs admin authentication", async () => {
    const res = await gateway().fetch(
      "https://gw.test/admin/dev/sim-faults",
      post({ host: "ibkr-gateway.paulp.local", kind: "server_error" }),
    );
    expect(res.status).toBe(401);
    expect(await faults()).toEqual([]);
  });

  it("does not exist for a real hostname, even where VENUE_SIM is bound (a mis-deployed dev config)", async () => {
    const headers = { authorization: `Bearer ${env.ADMIN_TOKEN}`, "content-type": "application/json" };
    const res = await gateway().fetch("https://admin.paulp.example/admin/dev/sim-faults", {
      method: "POST",
      headers,
      body: JSON.stringify({ host: "ibkr-gateway.paulp.local", kind: "server_error" }),
    });
    expect(res.status).toBe(404);
    const clear = await gateway().fetch("https://admin.paulp.example/admin/dev/sim-faults/clear", {
      method: "POST",
      headers,
    });
    expect(clear.status).toBe(404);
    const clock = await gateway().fetch("https://admin.paulp.example/admin/dev/sim-clock", {
      method: "POST",
      headers,
      body: JSON.stringify({ marketsHeld: true }),
    });
    expect(clock.status).toBe(404);
    expect(await faults()).toEqual([]);
  });

  it("holds the simulator's market data and lets it run again; a body that is no hold is a 400 and changes nothing", async () => {
    const simClock = async () =>
      json<{ marketsHeldAt: number | null }>(env.VENUE_SIM.fetch("https://venue-sim.local/__sim/clock"));
    try {
      const held = await adminFetch("/admin/dev/sim-clock", post({ marketsHeld: true }));
      expect(held.status).toBe(200);
      const at = ((await held.json()) as { marketsHeldAt: number }).marketsHeldAt;
      expect(at).toBeGreaterThan(0);
      expect(await simClock()).toMatchObject({ marketsHeldAt: at, offsetMs: 0 });
      for (const bad of [{ marketsHeld: "yes" }, { advanceMs: 1000 }, {}]) {
        const refused = await adminFetch("/admin/dev/sim-clock", post(bad));
        expect(refused.status, JSON.stringify(bad)).toBe(400);
        expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("validation_failed");
      }
      expect(await simClock()).toMatchObject({ marketsHeldAt: at });
      const running = await adminFetch("/admin/dev/sim-clock", post({ marketsHeld: false }));
      expect(running.status).toBe(200);
      expect(((await running.json()) as { marketsHeldAt: number | null }).marketsHeldAt).toBeNull();
    } finally {
      await env.VENUE_SIM.fetch("https://venue-sim.local/__sim/clock", { method: "DELETE" });
    }
  });

  it("does not exist where VENUE_SIM is not bound (every deployed environment)", async () => {
    for (const path of ["/admin/dev/sim-faults", "/admin/dev/sim-faults/clear", "/admin/dev/sim-clock"]) {
      const ctx = createExecutionContext();
      const res = await buildRouter().fetch(
        new Request(`https://gw.test${path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` },
          body: JSON.stringify({ host: "ibkr-gateway.paulp.local", kind: "server_error" }),
        }),
        { ...env, VENUE_SIM: undefined } as Env,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      expect(res.status, path).toBe(404);
    }
  });
});
