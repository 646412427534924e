import { AlertsHttpQuery, OutboxHttpQuery, RecipientChange } from "@paulp/contracts";
import { unwrap } from "@paulp/kit";
import { ask, methodRoute, settingRoutes } from "../answer";
import { actorOnly } from "../context";
import type { GatewayRouter } from "../router";
import { parseQuery } from "./query";

/**
 * Alerts and metrics (the monitor worker). `POST /admin/alerts/evaluate` runs what the monitor's one-minute cron
 * runs (`pnpm dev` drives it so); `GET /admin/alerts/outbox` shows the composed emails (in dev, what would have
 * been sent); adding or removing a recipient is audited and every recipient is told.
 */
export function registerMonitorRoutes(router: GatewayRouter): void {
  router.get(
    "/admin/alerts",
    methodRoute("MONITOR", "alerts", {
      args: (request) => [{ limit: parseQuery(request, AlertsHttpQuery).limit }],
      wait: "read",
    }),
  );

  router.post(
    "/admin/alerts/evaluate",
    methodRoute("MONITOR", "evaluate", {
      args: actorOnly,
      wait: { check: "GET /admin/alerts" },
    }),
  );

  router.get(
    "/admin/alerts/outbox",
    methodRoute("MONITOR", "outbox", {
      args: (request) => [parseQuery(request, OutboxHttpQuery).limit],
      wait: "read",
    }),
  );

  settingRoutes(
    router,
    "/admin/alerts/recipients",
    "MONITOR",
    { read: "recipients", change: "changeRecipients" },
    RecipientChange,
    { maxBytes: 4 * 1024 },
  );

  // Prometheus text format, for a Prometheus that authenticates with an Access service token (or the bearer).
  router.get("/admin/metrics", async (_request, env) => {
    const text = unwrap(await ask(env, "MONITOR", (monitor) => monitor.metrics(), "monitor.metrics"));
    return new Response(text, {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" },
    });
  });
}
