import { ErrorCode } from "@paulp/contracts";
import { errorJson, json, readJsonBody } from "@paulp/kit";
import * as v from "valibot";
import type { GatewayRequest } from "../context";
import type { Env } from "../env";
import type { GatewayRouter } from "../router";
import { localSimulator } from "../simulator";

export const DevLogin = v.object({ email: v.pipe(v.string(), v.email()) });

/**
 * A venue simulator fault (its `/__sim/faults` spec: docs/venues.md): the host and kind are named here, the rest
 * (path prefix, status, times, …) is passed on and checked by the simulator, whose refusal is answered 400.
 */
export const DevSimFault = v.looseObject({
  host: v.pipe(v.string(), v.minLength(1), v.maxLength(253)),
  kind: v.pipe(v.string(), v.minLength(1), v.maxLength(32)),
});

/**
 * Hold the venue simulator's market data (prices, books, statuses) at this moment (`true`) or let it run again
 * (`false`); its clock runs on for signatures and sessions: `/__sim/clock` (docs/venues.md).
 */
export const DevSimClock = v.strictObject({ marketsHeld: v.boolean() });

/** The 502 for a simulator answer the route did not expect. */
function simulatorAnswered(res: Response, who = "simulator"): Response {
  return errorJson(502, { code: ErrorCode.upstreamError, message: `${who} answered ${res.status}` });
}

/**
 * A dev route's handler: `handle` with the venue simulator where it is bound and the host is local or a test one
 * (`localSimulator`), and `also` holds; everywhere else the 404 any unknown route gets, naming this request.
 */
function withLocalSimulator(
  handle: (simulator: Fetcher, request: GatewayRequest, env: Env) => Promise<Response>,
  also: (env: Env) => boolean = () => true,
): (request: GatewayRequest, env: Env) => Promise<Response> {
  return async (request, env) => {
    const simulator = localSimulator(request, env);
    if (!simulator || !also(env)) {
      const route = `${request.method} ${new URL(request.url).pathname}`;
      return errorJson(404, { code: ErrorCode.notFound, message: `no route for ${route}` });
    }
    return handle(simulator, request, env);
  };
}

/**
 * Local sign-in for `pnpm dev`: asks the Cloudflare Access double in the simulator for a token. Exists only
 * where the VENUE_SIM binding exists (the top-level dev config) and only for a local or test host
 * (`localSimulator`); staging and production never bind it, so there the route answers 404 like any unknown
 * route.
 */
export function registerDevRoutes(router: GatewayRouter): void {
  router.post(
    "/dev/access-token",
    withLocalSimulator(
      async (simulator, request, env) => {
        const { email } = await readJsonBody(request, DevLogin, 4 * 1024);
        const res = await simulator.fetch(`https://${env.ACCESS_TEAM_DOMAIN}/__sim/access/token`, {
          method: "POST",
          body: JSON.stringify({ email, aud: env.ACCESS_AUD }),
        });
        if (!res.ok) return simulatorAnswered(res, "Access double");
        return json(await res.json());
      },
      (env) => Boolean(env.ACCESS_TEAM_DOMAIN && env.ACCESS_AUD),
    ),
  );

  /** The simulator's answers by venue and status since it started (the soak counts the venues' 429s here). */
  router.get(
    "/dev/sim-stats",
    withLocalSimulator(async (simulator) => {
      const res = await simulator.fetch("https://venue-sim.local/__sim/stats");
      if (!res.ok) return simulatorAnswered(res);
      return json(await res.json());
    }),
  );

  /**
   * A fault in the venue simulator (e.g. IBKR's market data snapshot answering 503): how the browser tests set the
   * precondition a venue's failure creates (an owed hedge) without waiting on a timing. Under /admin, so the admin
   * token or an Access sign-in and the same-origin check apply, and like the routes above only where the simulator
   * is bound and for a local host: 404 everywhere else.
   */
  router.post(
    "/admin/dev/sim-faults",
    withLocalSimulator(async (simulator, request) => {
      const fault = await readJsonBody(request, DevSimFault, 4 * 1024);
      const res = await simulator.fetch("https://venue-sim.local/__sim/faults", {
        method: "POST",
        body: JSON.stringify(fault),
      });
      if (res.status === 400) {
        const refused = (await res.json().catch(() => null)) as { error?: unknown } | null;
        return errorJson(400, {
          code: ErrorCode.validationFailed,
          message: `the simulator refused the fault: ${String(refused?.error ?? "invalid").slice(0, 300)}`,
        });
      }
      if (res.status !== 201) return simulatorAnswered(res);
      return json(await res.json(), 201);
    }),
  );

  /**
   * Holds the venue simulator's market data still, or lets it run again: the venues' prices stand while held, so the
   * browser tests' set-up trades on a book that cannot move between the loop's decision and its paper fill (signed
   * requests still pass: the simulator's clock runs on). Guarded as the fault route is.
   */
  router.post(
    "/admin/dev/sim-clock",
    withLocalSimulator(async (simulator, request) => {
      const change = await readJsonBody(request, DevSimClock, 1024);
      const res = await simulator.fetch("https://venue-sim.local/__sim/clock", {
        method: "POST",
        body: JSON.stringify(change),
      });
      if (!res.ok) return simulatorAnswered(res);
      return json(await res.json());
    }),
  );

  /** Clears every simulator fault (and rate limit a test tightened). */
  router.post(
    "/admin/dev/sim-faults/clear",
    withLocalSimulator(async (simulator) => {
      const res = await simulator.fetch("https://venue-sim.local/__sim/faults", { method: "DELETE" });
      if (!res.ok) return simulatorAnswered(res);
      return json(await res.json());
    }),
  );
}
