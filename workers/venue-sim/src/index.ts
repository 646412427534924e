import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";
import { handleAccess } from "./access";
import { handleAnthropic } from "./anthropic";
import type { SimContext, SimHandler } from "./context";
import { handleFaultAdmin, interceptFault } from "./faults";
import { handleIbkr } from "./ibkr";
import { handleKalshiMarkets } from "./kalshi/markets";
import { handleKalshiTrading } from "./kalshi/trading";
import { handlePolymarket } from "./polymarket";

export interface Env {
  VENUE_STATE: DurableObjectNamespace<VenueState>;
  SIM_SEED: string;
  /** JSON `{ keyId: SPKI PEM }`; `pnpm dev` writes it to .dev.vars with the key pair it generates. */
  SIM_KALSHI_PUBLIC_KEYS?: string;
}

function parseKeyMap(raw: string | undefined): Record<string, string> {
  if (!raw) return {};
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return {};
    return Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === "string")) as Record<
      string,
      string
    >;
  } catch {
    return {};
  }
}

/** Which handlers serve which real host. The egress wrapper forwards the original production URL. */
export function handlersFor(host: string): SimHandler[] {
  if (host === "api.elections.kalshi.com" || host === "demo-api.kalshi.co")
    return [handleKalshiTrading, handleKalshiMarkets];
  if (
    host === "gamma-api.polymarket.com" ||
    host === "clob.polymarket.com" ||
    host === "data-api.polymarket.com"
  )
    return [handlePolymarket];
  if (host === "api.anthropic.com") return [handleAnthropic];
  if (host.endsWith(".cloudflareaccess.com")) return [handleAccess];
  // The IBKR Client Portal gateway's host is configured per deployment; the simulator answers for any
  // host whose path starts with /v1/api.
  return [handleIbkr];
}

/** All mutable simulator state (orders, faults, rate-limit buckets), serialised in one object. */
export class VenueState extends DurableObject<Env> {
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const sim: SimContext = {
      storage: this.ctx.storage,
      seed: Number(this.env.SIM_SEED) || 1,
      now: Date.now,
      kalshiPublicKeys: parseKeyMap(this.env.SIM_KALSHI_PUBLIC_KEYS),
    };
    const admin = await handleFaultAdmin(request, url, sim);
    if (admin) return admin;
    const fault = await interceptFault(request, url, sim);
    if (fault) return fault;
    for (const handler of handlersFor(url.hostname)) {
      const response = await handler(request, url, sim);
      if (response) return response;
    }
    return Response.json(
      { error: `venue-sim: no route for ${request.method} ${url.host}${url.pathname}` },
      { status: 404 },
    );
  }
}

/** Dev/test-only doubles of the outside services; never deployed. */
export default class VenueSim extends WorkerEntrypoint<Env> {
  override async fetch(request: Request): Promise<Response> {
    return this.env.VENUE_STATE.get(this.env.VENUE_STATE.idFromName("venues")).fetch(request);
  }
}
