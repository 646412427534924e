import { EquityHttpQuery, PairsPageHttpQuery } from "@paulp/contracts";
import { json, resultResponse } from "@paulp/kit";
import { ask, methodRoute } from "../answer";
import type { GatewayRouter } from "../router";
import { parseQuery } from "./query";

/** What the console reads beyond the workers' own routes: the equity series, and pairs a page at a time. */
export function registerDeskRoutes(router: GatewayRouter): void {
  // One sample a minute (the monitor's evaluation samples risk's equity); oldest first.
  router.get(
    "/admin/equity",
    methodRoute("MONITOR", "equitySeries", {
      args: (request) => [{ minutes: parseQuery(request, EquityHttpQuery).minutes }],
      wait: "read",
    }),
  );

  // A page of pairs, filtered by review state and grade: the console never downloads the whole list.
  router.get("/admin/pairs/page", async (request, env) => {
    const q = parseQuery(request, PairsPageHttpQuery);
    const listed = await ask(
      env,
      "GOVERNANCE",
      (gov) => gov.listPairs({ review: q.review }),
      "governance.listPairs",
    );
    if (!listed.ok) return resultResponse(listed);
    const all = listed.value;
    const grade = q.grade === "unassessed" ? null : q.grade;
    const matching = q.grade === undefined ? all : all.filter((p) => p.grade === grade);
    const offset = q.offset ?? 0;
    const limit = q.limit ?? 25;
    return json({ pairs: matching.slice(offset, offset + limit), total: matching.length, offset, limit });
  });
}
