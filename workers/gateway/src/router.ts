import { ErrorCode } from "@paulp/contracts";
import { errorJson, errorResponse, HttpError, json } from "@paulp/kit";
import { AutoRouter } from "itty-router";
import type { GatewayArgs, GatewayRequest } from "./context";
import { withAdminAuth, withAdminRequestAudit, withRequestId, withSameOriginWrites } from "./middleware";
import { registerAuditRoutes } from "./routes/audit";
import { registerBrowseRoutes } from "./routes/browse";
import { registerConsoleRoutes } from "./routes/console";
import { registerDeskRoutes } from "./routes/desk";
import { registerDevRoutes } from "./routes/dev";
import { registerEvidenceExportRoutes } from "./routes/evidence-export";
import { registerExecutionRoutes } from "./routes/execution";
import { registerGovernanceRoutes } from "./routes/governance";
import { registerIngestionRoutes } from "./routes/ingestion";
import { registerMonitorRoutes } from "./routes/monitor";
import { registerOpenApiRoutes } from "./routes/openapi";
import { registerReplayRoutes } from "./routes/replays";
import { registerRiskRoutes } from "./routes/risk";
import { registerStatusRoutes } from "./routes/status";

export type GatewayRouter = ReturnType<typeof buildRouter>;

/** An error thrown by another worker over RPC, or a lost connection to one. */
function isRemoteFailure(error: unknown): boolean {
  const e = error as { remote?: unknown; message?: unknown } | null;
  if (e?.remote === true) return true;
  return (
    typeof e?.message === "string" && /network connection lost|worker.*(exceeded|threw)/i.test(e.message)
  );
}

/**
 * The methods some route serves at `pathname` (middleware registered for every method is not a route), for a
 * 405's `Allow`; empty when no route matches the path at all.
 */
export function allowedMethods(
  routes: readonly [string, RegExp, ...unknown[]][],
  pathname: string,
): string[] {
  const methods = new Set<string>();
  for (const [method, pattern] of routes) if (method !== "ALL" && pattern.test(pathname)) methods.add(method);
  return [...methods].sort();
}

/** The gateway's HTTP surface. Handlers are thin: validate, call a service over RPC, map its result. */
export function buildRouter() {
  const router = AutoRouter<GatewayRequest, GatewayArgs>({
    before: [withRequestId()],
    catch: (error) => {
      // A worker behind the gateway that threw (workerd marks errors crossing RPC `remote`) or dropped the
      // connection is unavailable, as the risk routes already say: 503, not the gateway's own 500.
      if (!(error instanceof HttpError) && isRemoteFailure(error)) {
        return errorJson(503, {
          code: ErrorCode.serviceUnavailable,
          message: `a worker behind the gateway failed: ${String((error as Error)?.message ?? error).slice(0, 200)}`,
        });
      }
      const response = errorResponse(error);
      if (response.status >= 500 && !(error as { code?: string })?.code)
        console.error("gateway error", error);
      return response;
    },
    finally: [withAdminRequestAudit()],
    // A path some route serves, asked with another method: 405 naming the methods it takes.
    missing: (request) => {
      const allow = allowedMethods(router.routes, new URL(request.url).pathname);
      if (allow.length > 0)
        return errorJson(
          405,
          {
            code: ErrorCode.methodNotAllowed,
            message: `${request.method} is not allowed on ${new URL(request.url).pathname}: use ${allow.join(", ")}`,
          },
          { allow: allow.join(", ") },
        );
      return errorJson(404, {
        code: ErrorCode.notFound,
        message: `no route for ${request.method} ${new URL(request.url).pathname}`,
      });
    },
  });

  router.get("/health", () => json({ status: "ok", service: "gateway" }));
  registerConsoleRoutes(router);
  router.all("/admin/*", withSameOriginWrites());
  router.all("/admin/*", withAdminAuth());
  router.get("/admin/whoami", (request) => json({ principal: request.principal }));
  registerOpenApiRoutes(router);

  registerDevRoutes(router);
  registerStatusRoutes(router);
  registerAuditRoutes(router);
  registerRiskRoutes(router);
  registerEvidenceExportRoutes(router);
  registerIngestionRoutes(router);
  registerReplayRoutes(router);
  registerGovernanceRoutes(router);
  registerExecutionRoutes(router);
  registerMonitorRoutes(router);
  registerBrowseRoutes(router);
  registerDeskRoutes(router);
  return router;
}
