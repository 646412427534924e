// The simulator's own admin routes under /__sim/kalshi/ (dev/test only, not Kalshi's): keys, faults (and the
// answers a "hold" fault keeps waiting), write limits, injected position drift.
import type * as K from "kalshi-typescript";
import type { SimContext, SimHandler } from "../context";
import { FULL_ACCESS } from "./auth";
import { err } from "./wire";

export interface Faults {
  afterAccept: "error" | "hang" | "hold" | null;
  hangMs: number;
  times: number;
  /** Caps what the next orders fill (a fixed-point count, e.g. "2.50": a fractional fill), `times` times. */
  fillCount?: string | null;
}

export interface Limits {
  writeCapacity: number;
  writeRefillPerSecond: number;
}

export const DEFAULT_LIMITS: Limits = { writeCapacity: 30, writeRefillPerSecond: 10 };

/**
 * Answers held by the "hold" fault, and tests waiting for one to be held. A test releases them when it has done
 * what must happen while an order is at the venue and its answer is not back (no timer to race).
 */
const held = new Set<() => void>();
const holdWatchers = new Set<() => void>();

/** Applies the "after acceptance" fault: the order is stored, the answer is lost. */
export async function afterAcceptFault(sim: SimContext): Promise<Response | null> {
  const f = await sim.storage.get<Faults>("kalshi:faults");
  if (!f?.afterAccept || f.times <= 0) return null;
  await sim.storage.put("kalshi:faults", { ...f, times: f.times - 1 });
  if (f.afterAccept === "hang") await new Promise((r) => setTimeout(r, f.hangMs));
  if (f.afterAccept === "hold")
    await new Promise<void>((resolve) => {
      const release = () => {
        clearTimeout(timer);
        held.delete(release);
        resolve();
      };
      const timer = setTimeout(release, f.hangMs);
      held.add(release);
      for (const watch of holdWatchers) watch();
    });
  return err(504, "gateway_timeout", "upstream timed out");
}

export async function readJson(request: Request): Promise<Record<string, unknown> | null> {
  try {
    const body = await request.json();
    return body && typeof body === "object" && !Array.isArray(body)
      ? (body as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

export async function handleAdmin(request: Request, url: URL, sim: SimContext): Promise<Response | null> {
  const sub = url.pathname.slice("/__sim/kalshi/".length);
  if (request.method === "GET" && sub === "orders") {
    const orders = await sim.storage.list<K.Order>({ prefix: "kalshi:order:" });
    return Response.json({ orders: [...orders.values()] });
  }
  if (request.method === "GET" && sub === "held") {
    if (held.size === 0)
      await new Promise<void>((resolve) => {
        const watch = () => {
          holdWatchers.delete(watch);
          resolve();
        };
        holdWatchers.add(watch);
      });
    return Response.json({ held: held.size });
  }
  if (request.method === "POST" && sub === "release") {
    const released = held.size;
    for (const release of [...held]) release();
    return Response.json({ released });
  }
  if (request.method !== "POST") return null;
  const body = await readJson(request);
  if (!body) return err(400, "bad_request", "JSON object body required");
  if (sub === "keys") {
    if (
      typeof body.keyId !== "string" ||
      typeof body.publicKeyPem !== "string" ||
      !body.publicKeyPem.includes("BEGIN PUBLIC KEY")
    )
      return err(400, "bad_request", "keyId and an SPKI publicKeyPem are required");
    const scopes = Array.isArray(body.scopes) ? body.scopes.map(String) : FULL_ACCESS;
    await sim.storage.put(`kalshi:key:${body.keyId}`, { pem: body.publicKeyPem, scopes });
    return Response.json({ registered: body.keyId }, { status: 201 });
  }
  if (sub === "faults") {
    const mode = body.afterAccept ?? null;
    if (mode !== null && mode !== "error" && mode !== "hang" && mode !== "hold")
      return err(400, "bad_request", "afterAccept: error | hang | hold | null");
    const faults: Faults = {
      afterAccept: mode,
      hangMs: Number(body.hangMs ?? 2_000),
      times: Number(body.times ?? 1),
      fillCount: typeof body.fillCount === "string" ? body.fillCount : null,
    };
    await sim.storage.put("kalshi:faults", faults);
    return Response.json(faults);
  }
  if (sub === "limits") {
    const limits: Limits = {
      writeCapacity: Number(body.writeCapacity ?? DEFAULT_LIMITS.writeCapacity),
      writeRefillPerSecond: Number(body.writeRefillPerSecond ?? DEFAULT_LIMITS.writeRefillPerSecond),
    };
    await sim.storage.put("kalshi:limits", limits);
    await sim.storage.delete([...(await sim.storage.list({ prefix: "kalshi:bucket:" })).keys()]);
    return Response.json(limits);
  }
  if (sub === "positions") {
    if (typeof body.ticker !== "string" || typeof body.delta !== "number" || !Number.isFinite(body.delta))
      return err(400, "bad_request", "ticker and a numeric delta (contracts, 0.01 granularity)");
    const k = `kalshi:pos:${body.ticker}`;
    const pos = ((await sim.storage.get<number>(k)) ?? 0) + Math.round(body.delta * 100);
    await sim.storage.put(k, pos);
    return Response.json({ ticker: body.ticker, position: pos / 100 });
  }
  return null;
}

/** Dev/test admin endpoints, also reachable from hosts other than Kalshi's (see ibkr.ts). */
export const handleKalshiSimAdmin: SimHandler = async (request, url, sim) =>
  url.pathname.startsWith("/__sim/kalshi/") ? handleAdmin(request, url, sim) : null;
