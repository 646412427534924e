import { AlertsHttpQuery, type MonitorRpc, OutboxHttpQuery, RecipientChange } from "@paulp/contracts";
import { readJsonBody, resultResponse, unwrap } from "@paulp/kit";
import { principalOf } from "../context";
import type { Env } from "../env";
import type { GatewayRouter } from "../router";
import { parseQuery } from "./query";

/** The binding seen through its contract (the stub's RPC-wrapped return types are too deep for the checker). */
const monitorOf = (env: Env) => env.MONITOR as unknown as MonitorRpc;

/**
 * Alerts and metrics (the monitor worker). `POST /admin/alerts/evaluate` runs what the monitor's one-minute cron
 * runs (`pnpm dev` drives it so); `GET /admin/alerts/outbox` shows the composed emails (in dev, what would have
 * been sent); adding or removing a recipient is audited and every recipient is told.
 */
export function registerMonitorRoutes(router: GatewayRouter): void {
  router.get("/admin/alerts", async (request, env) => {
    const q = parseQuery(request, AlertsHttpQuery);
    return resultResponse(await monitorOf(env).alerts({ limit: q.limit }));
  });

  router.post("/admin/alerts/evaluate", async (request, env) =>
    resultResponse(await monitorOf(env).evaluate(principalOf(request))),
  );

  router.get("/admin/alerts/outbox", async (request, env) => {
    const q = parseQuery(request, OutboxHttpQuery);
    return resultResponse(await monitorOf(env).outbox(q.limit));
  });

  router.get("/admin/alerts/recipients", async (_request, env) =>
    resultResponse(await monitorOf(env).recipients()),
  );

  router.put("/admin/alerts/recipients", async (request, env) => {
    const change = await readJsonBody(request, RecipientChange, 4 * 1024);
    return resultResponse(await monitorOf(env).changeRecipients(change, principalOf(request)));
  });

  // Prometheus text format, for a Prometheus that authenticates with an Access service token (or the bearer).
  router.get("/admin/metrics", async (_request, env) => {
    const text = unwrap(await monitorOf(env).metrics());
    return new Response(text, {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" },
    });
  });
}
