import { ErrorCode, ok, REQUEST_ID_HEADER, sensitiveKindIn, systemPrincipal } from "@paulp/contracts";
import { auditAppend, createEgressFetch, HttpError, randomId, rpc } from "@paulp/kit";
import type { AdminAuditEvent } from "./audit-outbox";
import { OUTBOX_NAME } from "./audit-outbox-object";
import { accessJwks } from "./auth/access";
import { authenticateAdmin } from "./auth/authenticate";
import type { GatewayArgs, GatewayRequest } from "./context";
import { localSimulator } from "./simulator";

/** Options of `withRequestId`. */
export interface RequestIdOptions {
  header?: string;
  generate?: () => string;
}

/**
 * Give every request an id: a well-formed incoming one is kept, anything else replaced (including one that
 * looks like a card number: the id is recorded in the audit chain).
 */
export function withRequestId(options: RequestIdOptions = {}) {
  const header = options.header ?? REQUEST_ID_HEADER;
  const generate = options.generate ?? (() => randomId(12));
  return function requestId(request: GatewayRequest): void {
    const incoming = request.headers.get(header);
    request.requestId =
      incoming && /^[A-Za-z0-9_-]{8,64}$/.test(incoming) && sensitiveKindIn(incoming) === null
        ? incoming
        : generate();
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
  return async function sameOriginWrites(request: GatewayRequest, env: GatewayArgs[0]): Promise<void> {
    if (SAFE_METHODS.has(request.method)) return;
    const site = request.headers.get("sec-fetch-site");
    const origin = request.headers.get("origin");
    const crossSite =
      site !== null
        ? site !== "same-origin" && site !== "none"
        : origin !== null && origin !== new URL(request.url).origin;
    if (!crossSite) return;
    // Refused before anyone is authenticated, so it counts like a failed authentication: past the limit it is
    // answered 429 and audited once a minute, not once a request (a flood of them cannot fill the chain).
    const limitedBy = await overFailureLimit(request, env);
    if (limitedBy) {
      request.authRateLimited = limitedBy;
      throw new HttpError(
        429,
        ErrorCode.rateLimited,
        "too many refused admin requests from this client: wait a minute",
        undefined,
        {
          "retry-after": "60",
        },
      );
    }
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
    const simulator = localSimulator(request, env);
    const egress = createEgressFetch({ extraHosts: teamDomain ? [teamDomain] : [], simulator });
    try {
      request.principal = await authenticateAdmin(request, {
        adminToken: env.ADMIN_TOKEN,
        access: teamDomain && aud ? { teamDomain, aud } : null,
        accessKeys: () => accessJwks(teamDomain, egress, simulator !== undefined),
        readsStatus: request.method === "GET" && new URL(request.url).pathname === "/admin/status",
      });
    } catch (error) {
      const limitedBy =
        error instanceof HttpError && error.status === 401 ? await overFailureLimit(request, env) : null;
      if (limitedBy) {
        request.authRateLimited = limitedBy;
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

/**
 * The client's network as Cloudflare saw it (`CF-Connecting-IP`, set by the edge; never `X-Forwarded-For`),
 * truncated: an IPv4 address to its /24, an IPv6 address to its /48. This is all the gateway keeps of an
 * address (rate-limit keys, audit entries): it names the network to look at without identifying a host, and
 * unlike a hash of an address it cannot be reversed by trying all 2^32 IPv4 addresses. One IPv6 host usually
 * holds a whole /64, so per-address counting could be dodged by rotating through it anyway.
 */
export function clientOf(request: Request): string {
  const ip = request.headers.get("cf-connecting-ip") ?? "unknown";
  if (!ip.includes(":")) {
    const octets = ip.split(".");
    return octets.length === 4 && octets.every((o) => /^\d{1,3}$/.test(o))
      ? `${octets.slice(0, 3).join(".")}.0/24`
      : "unknown";
  }
  const [head = "", tail = ""] = ip.toLowerCase().split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = ip.includes("::")
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
    : left;
  return `${groups
    .slice(0, 3)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/48`;
}

/** The key of the limit over every client together. */
export const ALL_CLIENTS = "*";

/**
 * Count a failed authentication against its client; true once the client is past the limit. Only failures
 * are counted, so a valid credential is never refused, whoever shares the address. The limiter guards the
 * audit chain against a flood of failures; if it is unavailable the failure is answered 401 as usual.
 */
async function overFailureLimit(request: Request, env: GatewayArgs[0]): Promise<RateLimitedBy | null> {
  const over = async (limiter: RateLimit | undefined, key: string) => {
    if (!limiter) return false;
    try {
      return !(await limiter.limit({ key })).success;
    } catch {
      return false;
    }
  };
  // Per client, and over every client together (a flood spread over many addresses).
  const [client, all] = await Promise.all([
    over(env.AUTH_FAILURES, clientOf(request)),
    over(env.AUTH_FAILURES_ALL, ALL_CLIENTS),
  ]);
  return client ? "client" : all ? "all" : null;
}

/** Which failure limit a request went past. */
type RateLimitedBy = "client" | "all";

/** Rate-limited failures are audited once a minute per client (or once for a flood over all), not once each. */
async function auditThisRateLimited(request: GatewayRequest, env: GatewayArgs[0]): Promise<boolean> {
  if (!env.AUTH_FAILURE_AUDIT) return true;
  const key = request.authRateLimited === "all" ? ALL_CLIENTS : clientOf(request);
  try {
    return (await env.AUTH_FAILURE_AUDIT.limit({ key })).success;
  } catch {
    return true;
  }
}

/**
 * Record every admin request in the audit chain: who, method, route pattern, status. Credentials and bodies
 * are never recorded. The record is kept by the admin audit outbox (a Durable Object) before the answer leaves,
 * then appended from there, and retried there until the chain acknowledges it: an audit outage delays the
 * record, it does not lose it. It cannot change the answer; the actions themselves are audited fail-closed by
 * the workers that perform them.
 */
export function withAdminRequestAudit() {
  return async function adminRequestAudit(
    response: Response | undefined,
    request: GatewayRequest,
    env: GatewayArgs[0],
    ctx: GatewayArgs[1],
  ) {
    const url = new URL(request.url);
    // Only the admin routes (not `/adminx…`, which no route serves and nothing authenticates).
    if (url.pathname !== "/admin" && !url.pathname.startsWith("/admin/")) return response;
    if (response && request.requestId) response.headers.set(REQUEST_ID_HEADER, request.requestId);
    const status = response?.status ?? 500;
    const limited = request.authRateLimited !== undefined;
    if (limited && !(await auditThisRateLimited(request, env))) return response;
    await keepAdminRecord(env, ctx, {
      type: limited ? "gateway.auth_rate_limited" : "gateway.admin_request",
      service: "gateway",
      actor: request.principal ?? systemPrincipal("anonymous"),
      payload: {
        requestId: request.requestId ?? null,
        method: request.method,
        route: typeof request.route === "string" ? request.route : "(no route)",
        path: auditablePath(url.pathname),
        status,
        outcome: status < 400 ? "ok" : status === 401 || status === 403 || limited ? "denied" : "error",
        // Only for a rate-limited client: which address to look at (further failures this minute
        // are answered 429 and not recorded one by one).
        ...(limited ? { client: clientOf(request), limit: request.authRateLimited } : {}),
      },
    });
    return response;
  };
}

/** How long an answer waits for the outbox to keep its record before the record is appended directly instead. */
export const ENQUEUE_TIMEOUT_MS = 2_000;

/**
 * Keep one admin request record: in the outbox (awaited, a local write), then ask the outbox to deliver it after
 * the answer (waitUntil). Should the outbox itself fail, the record is appended directly, with the same key, so
 * an enqueue that did land after all and this append still make one entry. The key is namespaced (no other
 * caller's key can collide) and is the request id (kept for the reader) plus a random part: a client may send the
 * same request id twice, and each request is a record.
 */
export async function keepAdminRecord(
  env: GatewayArgs[0],
  ctx: GatewayArgs[1],
  event: AdminAuditEvent,
): Promise<void> {
  const key = `${event.type}:${event.payload.requestId ?? "none"}:${randomId(9)}`;
  // Inside the call: a missing or broken binding is a failed enqueue (direct append), never a failed answer.
  const kept = await rpc(
    async () => {
      const outbox = env.ADMIN_AUDIT_OUTBOX.get(env.ADMIN_AUDIT_OUTBOX.idFromName(OUTBOX_NAME));
      await outbox.enqueue(key, event);
      return ok(outbox);
    },
    { what: "admin audit outbox", timeoutMs: ENQUEUE_TIMEOUT_MS },
  );
  if (kept.ok) {
    ctx.waitUntil(
      kept.value.deliver().then(
        () => undefined,
        (error) => console.error(`admin audit outbox delivery failed (its alarm retries): ${String(error)}`),
      ),
    );
    return;
  }
  console.error(`admin audit outbox unavailable (${kept.error.message}): appending record ${key} directly`);
  ctx.waitUntil(
    auditAppend(env.AUDIT, event, 5_000, { idempotencyKey: key }).then((result) => {
      if (!result.ok) console.error(`admin request record ${key} LOST: ${result.error.code}`);
    }),
  );
}

/**
 * The path as the audit chain may keep it: a path carrying what looks like a card number, national id or
 * secret (in an id segment or an unknown route) is withheld, since an audit entry can never be removed.
 */
export function auditablePath(pathname: string): string {
  let decoded = pathname;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    // an undecodable path is checked as sent
  }
  const kind = sensitiveKindIn(decoded.replaceAll("/", " "));
  return kind ? `(withheld: the path looks like it carries ${kind.replace("_", " ")} data)` : pathname;
}
