import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";
import { setClosingEpoch, universeMode } from "@paulp/sim-universe";
import { handleAccess } from "./access";
import { handleAnthropic } from "./anthropic";
import { clockNow, handleClockAdmin, loadClock, marketNow, type SimClock } from "./clock";
import type { SimContext, SimHandler } from "./context";
import { handleFaultAdmin, interceptFault } from "./faults";
import { handleIbkr } from "./ibkr";
import { FULL_ACCESS, type SimKalshiKey } from "./kalshi/auth";
import { handleKalshiMarkets } from "./kalshi/markets";
import { handleKalshiTrading } from "./kalshi/trading";
import { handlePolymarket } from "./polymarket";
import { AnswerStats } from "./stats";

export interface Env {
  VENUE_STATE: DurableObjectNamespace<VenueState>;
  SIM_SEED: string;
  /**
   * Kalshi keys trusted without registration: `keyId:base64(SPKI DER)[:scope+scope]` entries separated by
   * commas (a dotenv-safe form; no scopes = full access). `pnpm dev` writes execution's key (full access) and
   * ingestion's read-only key (`:read`) to .dev.vars with the key pairs it generates.
   */
  SIM_KALSHI_PUBLIC_KEYS?: string;
  /** `small` (default) or `realistic`: see packages/sim-universe/src/index.ts. */
  SIM_UNIVERSE?: string;
}

/** Parse `keyId:base64der[:scopes],…` into SPKI PEMs and scopes by key id; malformed entries are ignored. */
export function parseKeyMap(raw: string | undefined): Record<string, SimKalshiKey> {
  const out: Record<string, SimKalshiKey> = {};
  for (const entry of (raw ?? "").split(",")) {
    const m = /^\s*([A-Za-z0-9_-]{1,128}):([A-Za-z0-9+/]+={0,2})(?::([a-z:_+]+))?\s*$/.exec(entry);
    if (!m) continue;
    const lines = m[2]!.match(/.{1,64}/g) ?? [];
    out[m[1]!] = {
      pem: `-----BEGIN PUBLIC KEY-----\n${lines.join("\n")}\n-----END PUBLIC KEY-----\n`,
      scopes: m[3] ? m[3].split("+") : FULL_ACCESS,
    };
  }
  return out;
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

/**
 * The time a request asks to be answered at (`x-venue-sim-at`, ms since the epoch, not after now): ingestion's dev
 * history reads a past window on a simulated clock, one request at a time, while the live mesh keeps reading now.
 * Per request, never stored, so no other caller's clock moves. Null when absent or malformed.
 */
export function answerAt(request: Request): number | null {
  const raw = request.headers.get("x-venue-sim-at");
  if (raw === null || !/^\d{13}$/.test(raw)) return null;
  const at = Number(raw);
  return at <= Date.now() ? at : null;
}

/** All mutable simulator state (orders, faults, rate-limit buckets), serialised in one object. */
export class VenueState extends DurableObject<Env> {
  private readonly stats = new AnswerStats(this.ctx.storage);

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === "GET" && url.pathname === "/__sim/stats")
      return Response.json(await this.stats.view());
    const response = await this.answer(request, url);
    // Every early answer (a fault, a refused signature, a bad query) leaves the body unread; read it here, once,
    // before answering: an unread request stream breaks the service-binding hop ("Can't read from request
    // stream after response has been sent").
    if (request.body && !request.bodyUsed) await request.arrayBuffer().catch(() => null);
    await this.stats.record(url, response.status);
    return response;
  }

  /** When this simulator's state first answered: markets of the realistic universe close relative to it. */
  private epoch: number | null = null;
  /** How far a test has moved the simulator's clock ahead of the wall clock, and whether it holds it (`/__sim/clock`). */
  private clock: SimClock = { offsetMs: 0, marketsHeldAt: null };

  private async answer(request: Request, url: URL): Promise<Response> {
    if (this.epoch === null) {
      this.epoch = (await this.ctx.storage.get<number>("universe_epoch")) ?? Date.now();
      await this.ctx.storage.put("universe_epoch", this.epoch);
      this.clock = await loadClock(this.ctx.storage);
    }
    const changed = await handleClockAdmin(request, url, this.ctx.storage, this.clock);
    if (changed) {
      this.clock = changed.clock;
      return changed.response;
    }
    const clock = this.clock;
    setClosingEpoch(this.epoch);
    const at = answerAt(request);
    const sim: SimContext = {
      storage: this.ctx.storage,
      seed: Number(this.env.SIM_SEED) || 1,
      now: at === null ? () => clockNow(clock) : () => at,
      marketNow: at === null ? () => marketNow(clock) : () => at,
      ...(at === null ? {} : { pastClock: true }),
      kalshiPublicKeys: parseKeyMap(this.env.SIM_KALSHI_PUBLIC_KEYS),
      universe: universeMode(this.env.SIM_UNIVERSE),
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
