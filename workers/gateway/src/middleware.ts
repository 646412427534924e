import { REQUEST_ID_HEADER, systemPrincipal } from "@paulp/contracts";
import { auditAppend, createEgressFetch, randomId } from "@paulp/kit";
import { accessJwks } from "./auth/access";
import { authenticateAdmin } from "./auth/authenticate";
import type { GatewayArgs, GatewayRequest } from "./context";

/** Options of `withRequestId`. */
export interface RequestIdOptions {
  header?: string;
  generate?: () => string;
}

/** Give every request an id: a well-formed incoming one is kept, anything else replaced. */
export function withRequestId(options: RequestIdOptions = {}) {
  const header = options.header ?? REQUEST_ID_HEADER;
  const generate = options.generate ?? (() => randomId(12));
  return function requestId(request: GatewayRequest): void {
    const incoming = request.headers.get(header);
    request.requestId = incoming && /^[A-Za-z0-9_-]{8,64}$/.test(incoming) ? incoming : generate();
  };
}

/** Authenticate everything under /admin; throws the 401/503 envelope, so nothing after it runs. */
export function withAdminAuth() {
  return async function adminAuth(request: GatewayRequest, env: GatewayArgs[0]): Promise<void> {
    const teamDomain = env.ACCESS_TEAM_DOMAIN?.trim() ?? "";
    const aud = env.ACCESS_AUD?.trim() ?? "";
    const egress = createEgressFetch({
      extraHosts: teamDomain ? [teamDomain] : [],
      simulator: env.VENUE_SIM,
    });
    request.principal = await authenticateAdmin(request, {
      adminToken: env.ADMIN_TOKEN,
      access: teamDomain && aud ? { teamDomain, aud } : null,
      accessKeys: () => accessJwks(teamDomain, egress),
    });
  };
}

/**
 * Record every admin request in the audit chain after it is answered: who, method, route pattern,
 * status. Credentials and bodies are never recorded. Runs in waitUntil so it cannot change the answer;
 * the actions themselves are audited fail-closed by the workers that perform them.
 */
export function withAdminRequestAudit() {
  return function adminRequestAudit(
    response: Response | undefined,
    request: GatewayRequest,
    env: GatewayArgs[0],
    ctx: GatewayArgs[1],
  ) {
    const url = new URL(request.url);
    if (!url.pathname.startsWith("/admin")) return response;
    const status = response?.status ?? 500;
    const record = auditAppend(env.AUDIT, {
      type: "gateway.admin_request",
      service: "gateway",
      actor: request.principal ?? systemPrincipal("anonymous"),
      payload: {
        requestId: request.requestId ?? null,
        method: request.method,
        route: typeof request.route === "string" ? request.route : url.pathname,
        path: url.pathname,
        status,
        outcome: status < 400 ? "ok" : status === 401 || status === 403 ? "denied" : "error",
      },
    }).then((result) => {
      if (!result.ok) console.error(`admin request audit failed: ${result.error.code}`);
    });
    ctx.waitUntil(record);
    if (response && request.requestId) response.headers.set(REQUEST_ID_HEADER, request.requestId);
    return response;
  };
}
