import { ErrorCode, REQUEST_ID_HEADER, systemPrincipal } from "@paulp/contracts";
import { auditAppend, createEgressFetch, HttpError, randomId } from "@paulp/kit";
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

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Refuse a state-changing /admin request sent by a browser from another site (CSRF). Behind Cloudflare Access
 * the browser's Access cookie authenticates, so a page elsewhere could otherwise make an approver's browser
 * approve, halt or review. Browsers say where a request comes from (`Sec-Fetch-Site`, else `Origin`); curl,
 * the CLI and other programs send neither and are unaffected.
 */
export function withSameOriginWrites() {
  return function sameOriginWrites(request: GatewayRequest): void {
    if (SAFE_METHODS.has(request.method)) return;
    const site = request.headers.get("sec-fetch-site");
    const origin = request.headers.get("origin");
    const crossSite =
      site !== null
        ? site !== "same-origin" && site !== "none"
        : origin !== null && origin !== new URL(request.url).origin;
    if (crossSite)
      throw new HttpError(
        403,
        ErrorCode.forbidden,
        "cross-site request refused: admin actions must come from the console's own origin or a non-browser client",
      );
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
    try {
      request.principal = await authenticateAdmin(request, {
        adminToken: env.ADMIN_TOKEN,
        access: teamDomain && aud ? { teamDomain, aud } : null,
        accessKeys: () => accessJwks(teamDomain, egress),
      });
    } catch (error) {
      if (error instanceof HttpError && error.status === 401 && (await overFailureLimit(request, env))) {
        request.authRateLimited = true;
        throw new HttpError(
          429,
          ErrorCode.rateLimited,
          "too many failed admin authentications from this client: wait a minute",
          undefined,
          { "retry-after": "60" },
        );
      }
      throw error;
    }
  };
}

/** The client as Cloudflare saw it (`CF-Connecting-IP`, set by the edge; never `X-Forwarded-For`). */
function clientOf(request: Request): string {
  return request.headers.get("cf-connecting-ip") ?? "unknown";
}

/**
 * Count a failed authentication against its client; true once the client is past the limit. Only failures
 * are counted, so a valid credential is never refused, whoever shares the address. The limiter guards the
 * audit chain against a flood of failures; if it is unavailable the failure is answered 401 as usual.
 */
async function overFailureLimit(request: Request, env: GatewayArgs[0]): Promise<boolean> {
  if (!env.AUTH_FAILURES) return false;
  try {
    return !(await env.AUTH_FAILURES.limit({ key: clientOf(request) })).success;
  } catch {
    return false;
  }
}

/** A rate-limited client's failures are audited once a minute, not once each. */
async function auditThisRateLimited(request: Request, env: GatewayArgs[0]): Promise<boolean> {
  if (!env.AUTH_FAILURE_AUDIT) return true;
  try {
    return (await env.AUTH_FAILURE_AUDIT.limit({ key: clientOf(request) })).success;
  } catch {
    return true;
  }
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
    const limited = request.authRateLimited === true;
    const record = (limited ? auditThisRateLimited(request, env) : Promise.resolve(true))
      .then((audit) =>
        audit
          ? auditAppend(env.AUDIT, {
              type: limited ? "gateway.auth_rate_limited" : "gateway.admin_request",
              service: "gateway",
              actor: request.principal ?? systemPrincipal("anonymous"),
              payload: {
                requestId: request.requestId ?? null,
                method: request.method,
                route: typeof request.route === "string" ? request.route : url.pathname,
                path: url.pathname,
                status,
                outcome:
                  status < 400 ? "ok" : status === 401 || status === 403 || limited ? "denied" : "error",
                // Only for a rate-limited client: which address to look at (further failures this minute
                // are answered 429 and not recorded one by one).
                ...(limited ? { client: clientOf(request) } : {}),
              },
            })
          : null,
      )
      .then((result) => {
        if (result && !result.ok) console.error(`admin request audit failed: ${result.error.code}`);
      });
    ctx.waitUntil(record);
    if (response && request.requestId) response.headers.set(REQUEST_ID_HEADER, request.requestId);
    return response;
  };
}
