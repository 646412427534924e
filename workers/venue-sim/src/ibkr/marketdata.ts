import { hash32, rng } from "@paulp/sim-universe";
import type { SimContext } from "../context";
import type { Session } from "./state";

/** How often a simulated instrument's price moves. */
export const IBKR_PRICE_STEP_MS = 5_000;
/** The snapshot fields the simulator knows (IBKR's field ids): last, bid, ask, market data availability. */
const KNOWN_FIELDS = new Set(["31", "84", "86", "6509"]);
const MAX_CONIDS = 100;

/** A simulated instrument's last, bid and ask at `now` (dollars, two decimals), moving every step. */
export function ibkrQuote(
  seed: number,
  conid: number,
  now: number,
): { last: string; bid: string; ask: string } {
  const cents = (100 + (conid % 50)) * 100;
  const r = rng(hash32(`ibkr:${seed}:${conid}:${Math.floor(now / IBKR_PRICE_STEP_MS)}`));
  const mid = cents + Math.floor(r() * 200) - 100;
  const dollars = (c: number) => `${Math.floor(c / 100)}.${String(c % 100).padStart(2, "0")}`;
  return { last: dollars(mid), bid: dollars(mid - 1), ask: dollars(mid + 1) };
}

/**
 * `GET /iserver/marketdata/snapshot?conids=…&fields=…` as IBKR describes it: `/iserver/accounts` must come first
 * in the brokerage session (else the spec's 400 `{ error }`); the first snapshot of a conid in a session only
 * starts its market data (an element with `conid`, `server_id`, `_updated` and no prices), later ones carry the
 * requested fields, as strings. Elements hold only fields the spec's schema names. The session is mutated (the
 * caller saves it).
 */
export function marketDataSnapshot(url: URL, s: Session, sim: SimContext): Response {
  if (!s.iserverAccounts)
    return Response.json({ error: "call /iserver/accounts before market data" }, { status: 400 });
  const rawConids = (url.searchParams.get("conids") ?? "").split(",").filter((c) => c !== "");
  const conids = rawConids.map(Number);
  if (conids.length === 0 || conids.length > MAX_CONIDS || !conids.every((c) => Number.isInteger(c) && c > 0))
    return Response.json({ error: "conids: a comma-separated list of contract ids" }, { status: 400 });
  const fields = (url.searchParams.get("fields") ?? "31,84,86").split(",").filter((f) => f !== "");
  if (!fields.every((f) => /^\d+$/.test(f)))
    return Response.json({ error: "fields: a comma-separated list of field ids" }, { status: 400 });
  const now = sim.marketNow();
  const subscribed = new Set(s.marketData ?? []);
  const rows = conids.map((conid) => {
    const row: Record<string, unknown> = { conid, server_id: `q${conid % 10}`, _updated: now, "6119": "q0" };
    if (!subscribed.has(conid)) {
      subscribed.add(conid);
      return row;
    }
    const q = ibkrQuote(sim.seed, conid, now);
    const values: Record<string, string> = { "31": q.last, "84": q.bid, "86": q.ask, "6509": "RpB" };
    for (const f of fields) if (KNOWN_FIELDS.has(f)) row[f] = values[f];
    return row;
  });
  s.marketData = [...subscribed];
  return Response.json(rows);
}
