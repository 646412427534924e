import {
  EquityHttpQuery,
  type GovernanceRpc,
  type MonitorRpc,
  PairsPageHttpQuery,
  type PairView,
} from "@paulp/contracts";
import { json, resultResponse, unwrap } from "@paulp/kit";
import type { Env } from "../env";
import type { GatewayRouter } from "../router";
import { parseQuery } from "./query";

const monitorOf = (env: Env) => env.MONITOR as unknown as MonitorRpc;
const gov = (env: Env) => env.GOVERNANCE as unknown as GovernanceRpc;

/** What the console reads beyond the workers' own routes: the equity series, and pairs a page at a time. */
export function registerDeskRoutes(router: GatewayRouter): void {
  // One sample a minute (the monitor's evaluation samples risk's equity); oldest first.
  router.get("/admin/equity", async (request, env) => {
    const q = parseQuery(request, EquityHttpQuery);
    return resultResponse(await monitorOf(env).equitySeries({ minutes: q.minutes }));
  });

  // A page of pairs, filtered by review state and grade: the console never downloads the whole list.
  router.get("/admin/pairs/page", async (request, env) => {
    const q = parseQuery(request, PairsPageHttpQuery);
    const all: PairView[] = unwrap(await gov(env).listPairs({ review: q.review }));
    const grade = q.grade === "unassessed" ? null : q.grade;
    const matching = q.grade === undefined ? all : all.filter((p) => p.grade === grade);
    const offset = q.offset ?? 0;
    const limit = q.limit ?? 25;
    return json({ pairs: matching.slice(offset, offset + limit), total: matching.length, offset, limit });
  });
}
