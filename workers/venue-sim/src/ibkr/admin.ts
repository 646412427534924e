// The simulator's own admin routes under /__sim/ibkr/ (dev/test only, not IBKR's): session, behaviour,
// accounts, pacing limits and positions, set by tests and the dev seed.
import type { SimContext } from "../context";
import { fail } from "./rows";
import {
  type Behaviour,
  behaviour,
  lapse,
  loadSession,
  orders,
  positionOf,
  QUESTION_TEXT,
  SIM_ACCOUNTS,
  saveSession,
} from "./state";

async function body(request: Request): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    return null;
  }
}

export async function handleIbkrSimAdmin(
  request: Request,
  url: URL,
  sim: SimContext,
): Promise<Response | null> {
  const sub = url.pathname.slice("/__sim/ibkr/".length);
  if (request.method === "GET" && sub === "orders") {
    return Response.json({ orders: await orders(sim) });
  }
  if (request.method !== "POST") return null;
  const b = (await body(request)) as Record<string, unknown> | null;
  if (!b || typeof b !== "object") return fail(400, "JSON object body required");
  if (sub === "reset") {
    // Back to a healthy session and the default behaviour; orders, executions and positions stay.
    await sim.storage.delete(["ibkr:session", "ibkr:behaviour", "ibkr:limits", "ibkr:bucket"]);
    return Response.json({ reset: true });
  }
  if (sub === "session") {
    const s = await loadSession(sim);
    if (typeof b.loggedOut === "boolean") {
      s.ssoValid = !b.loggedOut;
      s.connected = !b.loggedOut;
    }
    if (typeof b.competing === "boolean") {
      // Another platform took the brokerage session: this one is no longer authenticated.
      s.competing = b.competing;
      if (b.competing) lapse(s);
    }
    if (b.reauthPolls === null || (Number.isInteger(b.reauthPolls) && (b.reauthPolls as number) >= 0))
      s.reauthPolls = b.reauthPolls as number | null;
    if (typeof b.authenticated === "boolean") {
      if (!b.authenticated) lapse(s);
      else s.authenticated = true;
    }
    s.lastSeen = typeof b.idleMs === "number" ? sim.now() - b.idleMs : sim.now();
    await saveSession(sim, s);
    return Response.json(s);
  }
  if (sub === "questions" || sub === "behaviour") {
    const current = await behaviour(sim);
    const ids = sub === "questions" ? b.messageIds : b.questions;
    const next: Behaviour = { ...current };
    if (ids !== undefined) {
      if (!Array.isArray(ids) || ids.length === 0 || !ids.every((m) => typeof m === "string"))
        return fail(400, "questions: a non-empty string[] of question ids (every order is asked)");
      next.questions = ids.map((id) => QUESTION_TEXT[id] ?? `Unrecognised warning (${id}). Submit anyway?`);
    }
    if (b.fill !== undefined) {
      if (b.fill !== "fill" && b.fill !== "rest" && b.fill !== "partial")
        return fail(400, "fill: fill | rest | partial");
      next.fill = b.fill;
    }
    if (typeof b.tradesHidden === "boolean") next.tradesHidden = b.tradesHidden;
    if (Array.isArray(b.sparse)) next.sparse = b.sparse.map(String);
    if (b.access !== undefined) {
      const a = b.access as { clientId?: unknown; clientSecret?: unknown } | null;
      next.access =
        a && typeof a.clientId === "string" && typeof a.clientSecret === "string"
          ? { clientId: a.clientId, clientSecret: a.clientSecret }
          : null;
    }
    await sim.storage.put("ibkr:behaviour", next);
    return Response.json(next);
  }
  if (sub === "accounts") {
    if (!SIM_ACCOUNTS.includes(b.selected as (typeof SIM_ACCOUNTS)[number]))
      return fail(400, `selected: one of ${SIM_ACCOUNTS.join(", ")}`);
    const s = await loadSession(sim);
    s.selectedAccount = b.selected as string;
    await saveSession(sim, s);
    return Response.json({ selected: s.selectedAccount });
  }
  if (sub === "limits") {
    await sim.storage.put("ibkr:limits", {
      capacity: Number(b.capacity ?? 50),
      refillPerSecond: Number(b.refillPerSecond ?? 10),
    });
    await sim.storage.delete("ibkr:bucket");
    return Response.json({ ok: true });
  }
  if (sub === "positions") {
    if (Array.isArray(b.positions)) {
      const rows = b.positions as { conid?: unknown; position?: unknown }[];
      if (!rows.every((r) => Number.isInteger(r.conid) && Number.isInteger(r.position)))
        return fail(400, "positions: [{ conid, position }] integers");
      await sim.storage.put(Object.fromEntries(rows.map((r) => [`ibkr:pos:${r.conid}`, r.position])));
      return Response.json({ set: rows.length });
    }
    if (!Number.isInteger(b.conid) || !Number.isInteger(b.delta)) return fail(400, "integer conid and delta");
    const pos = (await positionOf(sim, b.conid as number)) + (b.delta as number);
    await sim.storage.put(`ibkr:pos:${b.conid}`, pos);
    return Response.json({ conid: b.conid, position: pos });
  }
  return null;
}
