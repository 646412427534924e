import { ErrorCode } from "@paulp/contracts";
import { errorJson, json, readJsonBody } from "@paulp/kit";
import * as v from "valibot";
import type { GatewayRouter } from "../router";
import { localSimulator } from "../simulator";

export const DevLogin = v.object({ email: v.pipe(v.string(), v.email()) });

/**
 * Local sign-in for `pnpm dev`: asks the Cloudflare Access double in the simulator for a token. Exists only
 * where the VENUE_SIM binding exists (the top-level dev config) and only for a local or test host
 * (`localSimulator`); staging and production never bind it, so there the route answers 404 like any unknown
 * route.
 */
export function registerDevRoutes(router: GatewayRouter): void {
  router.post("/dev/access-token", async (request, env) => {
    const simulator = localSimulator(request, env);
    if (!simulator || !env.ACCESS_TEAM_DOMAIN || !env.ACCESS_AUD) {
      return errorJson(404, { code: ErrorCode.notFound, message: "no route for POST /dev/access-token" });
    }
    const { email } = await readJsonBody(request, DevLogin, 4 * 1024);
    const res = await simulator.fetch(`https://${env.ACCESS_TEAM_DOMAIN}/__sim/access/token`, {
      method: "POST",
      body: JSON.stringify({ email, aud: env.ACCESS_AUD }),
    });
    if (!res.ok)
      return errorJson(502, {
        code: ErrorCode.upstreamError,
        message: `Access double answered ${res.status}`,
      });
    return json(await res.json());
  });

  /** The simulator's answers by venue and status since it started (the soak counts the venues' 429s here). */
  router.get("/dev/sim-stats", async (request, env) => {
    const simulator = localSimulator(request, env);
    if (!simulator)
      return errorJson(404, { code: ErrorCode.notFound, message: "no route for GET /dev/sim-stats" });
    const res = await simulator.fetch("https://venue-sim.local/__sim/stats");
    if (!res.ok)
      return errorJson(502, { code: ErrorCode.upstreamError, message: `simulator answered ${res.status}` });
    return json(await res.json());
  });
}
