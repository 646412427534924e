import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import type { ExecutionRpc, OrderIntent, Principal, RiskDecision } from "@paulp/contracts";
import { canonicalHash } from "@paulp/kit";
import type { AuditDouble, GovernanceDouble, IngestionDouble, RiskDouble } from "@paulp/testing/doubles";
import type { Env } from "../src/env";

/** The worker under test, called over RPC exactly as the gateway does. */
export const execution = () => (exports as unknown as { default: ExecutionRpc }).default;

export const ADMIN: Principal = { method: "access", subject: "ops-1", email: "ops1@paulp.test" };

/** The typed doubles of @paulp/testing behind execution's service bindings, with their test controls. */
export const risk = () => env.RISK as unknown as RiskDouble;
export const ingestion = () => env.INGESTION as unknown as IngestionDouble;
export const governance = () => env.GOVERNANCE as unknown as GovernanceDouble;
export const audit = () => env.AUDIT as unknown as AuditDouble;

export const HASH_A = "a".repeat(64);
export const HASH_B = "b".repeat(64);

let n = 0;
/** A unique client order id per call (simulator and doubles are shared across test files). */
export function coid(tag: string): string {
  return `t-${tag}-${Date.now().toString(36)}-${(n++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`.slice(
    0,
    64,
  );
}

export function intent(over: Partial<OrderIntent> = {}): OrderIntent {
  return {
    strategyId: "rv-test",
    venue: "kalshi",
    market: "KXTEST-1",
    side: "buy",
    effect: "open",
    quantity: 3,
    limitPrice: "0.9900",
    clientOrderId: coid("o"),
    evidenceHashes: [HASH_A, HASH_B],
    ...over,
  };
}

/** A live IBKR limit order of `strategyId` for `quantity` shares of AAPL (conid 265598) at $101.50. */
export const ibkrIntent = (strategyId: string, quantity: number): OrderIntent =>
  intent({ strategyId, venue: "ibkr", market: "265598", limitPrice: "101.5000", quantity });

/** An approved decision for exactly this intent, planted in the risk double. */
export async function approvedDecision(
  i: OrderIntent,
  over: Partial<RiskDecision> = {},
): Promise<RiskDecision> {
  const d: RiskDecision = {
    decisionId: `dec-${coid("d")}`,
    approved: true,
    reasons: [],
    limitsVersion: 1,
    breakerState: "NORMAL",
    intentHash: await canonicalHash("paulp.intent.v1", i),
    expiresAt: new Date(Date.now() + 60_000).toISOString(),
    auditSeq: 1,
    auditHash: "0".repeat(64),
    ...over,
  };
  await risk()._plant(d, i.effect === "open" || i.effect === "increase");
  return d;
}

const KALSHI = "https://api.elections.kalshi.com";

/** Every order the Kalshi simulator holds (its admin view). */
export async function simKalshiOrders(): Promise<
  { client_order_id: string; order_id: string; status: string }[]
> {
  const res = await env.VENUE_SIM.fetch(`${KALSHI}/__sim/kalshi/orders`);
  return ((await res.json()) as { orders: { client_order_id: string; order_id: string; status: string }[] })
    .orders;
}

export async function simAdmin(host: "kalshi" | "ibkr", path: string, body: unknown): Promise<Response> {
  const base = host === "kalshi" ? KALSHI : "https://ibkr-gw.test";
  return env.VENUE_SIM.fetch(`${base}/__sim/${host}/${path}`, { method: "POST", body: JSON.stringify(body) });
}

/** A fault on the Kalshi orders path (`/__sim/faults`: latency, server_error, …), firing once. */
export async function kalshiOrderFault(spec: Record<string, unknown>): Promise<void> {
  const res = await env.VENUE_SIM.fetch(`${KALSHI}/__sim/faults`, {
    method: "POST",
    body: JSON.stringify({
      host: "api.elections.kalshi.com",
      pathPrefix: "/trade-api/v2/portfolio/events/orders",
      times: 1,
      ...spec,
    }),
  });
  if (res.status !== 201) throw new Error(`fault not set: ${res.status}`);
}

/** The order manager's Durable Object, for tests that read or plant its rows. */
export const orderManagerStub = () => env.ORDER_MANAGER.get(env.ORDER_MANAGER.idFromName("orders"));

/** Set (`untilMs`) or end (null) the order manager's backoff from a venue that rate-limited it. */
export async function setBackoff(venue: "kalshi" | "ibkr", untilMs: number | null): Promise<void> {
  await runInDurableObject(orderManagerStub(), async (_o, state) => {
    if (untilMs === null) state.storage.sql.exec("DELETE FROM meta WHERE k = ?", `backoff:${venue}`);
    else
      state.storage.sql.exec(
        "INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)",
        `backoff:${venue}`,
        JSON.stringify({ streak: 1, untilMs }),
      );
  });
}

export async function simIbkrOrders(): Promise<{ cOID: string }[]> {
  const res = await env.VENUE_SIM.fetch("https://ibkr-gw.test/__sim/ibkr/orders");
  return ((await res.json()) as { orders: { cOID: string }[] }).orders;
}

/** Register this run's Kalshi public key with the simulator (what `pnpm dev` does for the dev key). */
export async function registerKalshiKey(): Promise<void> {
  const res = await simAdmin("kalshi", "keys", {
    keyId: env.KALSHI_API_KEY,
    publicKeyPem: env.TEST_KALSHI_PUBLIC_KEY,
  });
  if (res.status !== 201) throw new Error(`key registration failed: ${res.status}`);
}

/** Put the global switch and one strategy in live, each with a minted receipt. */
export async function goLive(strategyId: string): Promise<void> {
  for (const change of [
    { scope: "global", mode: "live" },
    { scope: `strategy:${strategyId}`, mode: "live" },
  ] as const) {
    const requestId = coid("req");
    await governance()._mint(requestId, `tok-${requestId}`, "execution.policy_live", change);
    const r = await execution().setPolicy(change, ADMIN, { requestId, receiptToken: `tok-${requestId}` });
    if (!r.ok) throw new Error(`goLive: ${r.error.message}`);
  }
}

/** The setup of a file that trades live: this run's Kalshi key registered, the switch and `strategyId` live. */
export async function liveOnSimulator(strategyId: string): Promise<void> {
  await registerKalshiKey();
  await goLive(strategyId);
}

/** Seeded tickers the simulator knows (its universe is a pure function of the seed in its wrangler.jsonc). */
import { kalshiTickerAt } from "@paulp/sim-universe";
export const TICKERS = Array.from({ length: 8 }, (_, i) => kalshiTickerAt(20261124, i));

/**
 * Run the order manager's outbox alarm (fills, ended orders and held audit facts reach risk and audit through
 * it; the tests' alarm waits an hour, so only this runs it), then read. While `check` does not hold the alarm
 * runs again, a few times at most: each run is a retry of what risk or audit refused. No wall clock involved.
 */
export async function afterOutbox<T>(
  read: () => Promise<T>,
  check: (v: T) => boolean = () => true,
  runs = 3,
): Promise<T> {
  let v = await read();
  for (let i = 0; i < runs && !check(v); i++) {
    await runDurableObjectAlarm(orderManagerStub());
    v = await read();
  }
  return v;
}

/** Await the order manager's bookkeeping calls sent without holding up an answer (e.g. `reportSuccess`). */
export async function bookkeepingSettled(): Promise<void> {
  await orderManagerStub().settled();
}

/** One fill as risk's double received it (in a `recordFills` batch, perhaps of one). */
export interface ReportedFill {
  method: "recordFills";
  fill: { fillId: string; clientOrderId: string; quantity: number; [k: string]: unknown };
  refused: boolean;
}

/** Every fill risk's double received, in order. */
export async function reportedFills(): Promise<ReportedFill[]> {
  const out: ReportedFill[] = [];
  for (const c of await risk()._calls()) {
    if (c.method === "recordFills")
      for (const fill of c.fills as ReportedFill["fill"][])
        out.push({ method: "recordFills", fill, refused: c.refused as boolean });
  }
  return out;
}

/** One side of a governance pair, as the loop's governance stub returns it. */
export const pairLeg = (venue: "kalshi" | "polymarket", marketId: string) => ({
  venue,
  marketId,
  title: marketId,
  rules: null,
  resolutionSource: null,
  closeTime: null,
  evidenceHash: "f".repeat(64),
  termsHash: "e".repeat(64),
});

/** Risk's double's releaseReservations calls naming `coid`, each with its position among all calls. */
export async function releasesOf(coid: string) {
  return (await risk()._calls())
    .map((c, i) => ({ c, i }))
    .filter(({ c }) => c.method === "releaseReservations" && (c.clientOrderIds as string[]).includes(coid));
}

/** A Kalshi book with one ask level and no bids, as ingestion's double answers it (evidence hash `c` × 64). */
export async function askOnlyBook(
  market: string,
  price: string,
  size: string,
  hashChar = "c",
): Promise<void> {
  await ingestion()._setBook("kalshi", market, {
    bids: [],
    asks: [{ price, size }],
    evidenceHash: hashChar.repeat(64),
  });
}

/** Governance lists one paper `cross_venue_rv` strategy and one tradable pair of these two legs. */
export async function onePaperPair(strategyId: string, pairId: string, kalshi: string, polymarket: string) {
  await governance()._set({
    strategies: [
      {
        id: strategyId,
        name: strategyId,
        kind: "cross_venue_rv",
        state: "paper",
        allocation: "1000.00",
        venues: ["kalshi", "polymarket"],
        params: {},
      },
    ],
    pairs: [
      {
        pairId,
        kalshi: pairLeg("kalshi", kalshi),
        polymarket: pairLeg("polymarket", polymarket),
        grade: "identical",
        yesMapsTo: "YES",
        approvedBy: "reviewer@paulp.test",
        approvedAt: "2026-11-20T00:00:00.000Z",
      },
    ],
  });
}

/**
 * A paper strategy whose pair gives a buy signal on `kalshi` (`askSize` contracts offered at 0.40), its fills hedged
 * by selling `conid` at 0.5 a share per contract: answers the env the loop runs with (HEDGE_MAP for that market).
 * The map's limits are bounds far from the market (the old fixed prices): the hedge must follow the mark.
 */
export async function hedgedPaperPair(
  strategy: string,
  kalshi: string,
  poly: string,
  conid: number,
  askSize = "50",
): Promise<Env> {
  await onePaperPair(strategy, `pair-${strategy}`, kalshi, poly);
  await ingestion()._setBook("kalshi", kalshi, {
    bids: [{ price: "0.3800", size: "50" }],
    asks: [{ price: "0.4000", size: askSize }],
    evidenceHash: "1".repeat(64),
  });
  await ingestion()._setBook("polymarket", poly, {
    bids: [{ price: "0.5000", size: "500" }],
    asks: [{ price: "0.5200", size: "500" }],
    evidenceHash: "2".repeat(64),
  });
  return withHedgeMap({
    [kalshi]: { conid, ratio: "0.5", direction: "opposite", buyLimit: "300.00", sellLimit: "100.00" },
  });
}

/** The worker's env with another HEDGE_MAP (an object, serialised; or the raw text, e.g. a malformed one). */
export function withHedgeMap(map: Record<string, unknown> | string): Env {
  return {
    ...(env as unknown as Env),
    HEDGE_MAP: typeof map === "string" ? map : JSON.stringify(map),
  } as Env;
}

/** IBKR `conid`'s mark at `price`, observed `ageMs` before the call, as the fast path pushes it to risk. */
export const ibkrMark = (conid: number, price: string, ageMs = 1_000) => ({
  venue: "ibkr" as const,
  market: String(conid),
  price,
  category: "Hedges",
  evidenceHash: "3".repeat(64),
  observedAt: new Date(Date.now() - ageMs).toISOString(),
});

/** Risk's decisions on IBKR orders for `conid`. */
export async function ibkrEvaluations(conid: number) {
  return (await risk()._calls()).filter(
    (c) => c.method === "evaluate" && (c.intent as { market?: string } | undefined)?.market === String(conid),
  );
}
