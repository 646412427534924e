import * as v from "valibot";
import { NonEmptyText } from "./fields";

/** Names of the services in the mesh; used as the `service` of audit entries and in health reports. */
export const ServiceName = v.picklist([
  "gateway",
  "ingestion",
  "risk",
  "execution",
  "audit",
  "governance",
  "monitor",
]);
/** A service of the mesh. */
export type ServiceName = v.InferOutput<typeof ServiceName>;

/** A person's email address, as Cloudflare Access verifies it and approver rosters name it (at most 320 characters). */
export const PersonEmail = v.pipe(v.string(), v.email(), v.maxLength(320));

/**
 * Who acted. `token` is the shared ADMIN_TOKEN (one principal, `admin-token`, never a distinct person);
 * `access` is a person verified by a Cloudflare Access JWT; `system` is a scheduled or internal actor
 * such as `cron:ingestion`.
 */
export const Principal = v.object({
  method: v.picklist(["token", "access", "system"]),
  subject: NonEmptyText(320),
  email: v.optional(PersonEmail),
});
/** The authenticated actor that travels with every internal RPC made on its behalf. */
export type Principal = v.InferOutput<typeof Principal>;

/** The one principal every ADMIN_TOKEN request maps to. */
export const ADMIN_TOKEN_PRINCIPAL: Principal = { method: "token", subject: "admin-token" };

/** A system principal for scheduled or internal work of one service. */
export function systemPrincipal(subject: string): Principal {
  return { method: "system", subject };
}

/** True when the principal is a verified person (Cloudflare Access), the only kind that counts for two-person rules. */
export function isPerson(p: Principal): boolean {
  return p.method === "access" && typeof p.email === "string" && p.email.length > 0;
}

/** Stable, machine-readable error codes shared by HTTP answers and RPC results. */
export const ErrorCode = {
  badRequest: "bad_request",
  invalidJson: "invalid_json",
  validationFailed: "validation_failed",
  notFound: "not_found",
  methodNotAllowed: "method_not_allowed",
  unauthorized: "unauthorized",
  forbidden: "forbidden",
  adminAuthMisconfigured: "admin_auth_misconfigured",
  conflict: "conflict",
  approvalRequired: "approval_required",
  riskDenied: "risk_denied",
  breakerHalted: "breaker_halted",
  complianceBlocked: "compliance_blocked",
  auditUnavailable: "audit_unavailable",
  upstreamError: "upstream_error",
  upstreamTimeout: "upstream_timeout",
  rateLimited: "rate_limited",
  egressDenied: "egress_denied",
  serviceUnavailable: "service_unavailable",
  integrityBroken: "integrity_broken",
  internal: "internal_error",
  /** A dangerous (two-person) action refused because the audit chain's integrity is not `ok`. */
  integrityNotOk: "integrity_not_ok",
  /** A request names something that does not exist (a strategy, an evidence hash): 422, naming it. */
  unknownReference: "unknown_reference",
  /** A go-live whose replay citation fails a rule (missing, other params, too short, too old): 422, naming the rule. */
  replayCitationRefused: "replay_citation_refused",
} as const;
/** One of the shared error codes. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The error body every HTTP answer and RPC failure carries. */
export interface ApiError {
  code: ErrorCode | (string & {});
  message: string;
  /** Optional structured detail, e.g. the field at fault or the numbers that tripped a limit. */
  details?: unknown;
}

/**
 * What an RPC method returns instead of throwing: error subclasses and their fields do not survive RPC.
 */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ApiError };

/** Build a success result. */
export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

/** Build a failure result. */
export function err<T = never>(code: ApiError["code"], message: string, details?: unknown): Result<T> {
  return details === undefined
    ? { ok: false, error: { code, message } }
    : { ok: false, error: { code, message, details } };
}

/** The HTTP status each error code maps to at the gateway. */
export const HTTP_STATUS_FOR_CODE: Record<string, number> = {
  bad_request: 400,
  invalid_json: 400,
  validation_failed: 400,
  not_found: 404,
  method_not_allowed: 405,
  unauthorized: 401,
  forbidden: 403,
  admin_auth_misconfigured: 503,
  conflict: 409,
  approval_required: 403,
  risk_denied: 422,
  breaker_halted: 423,
  compliance_blocked: 451,
  audit_unavailable: 503,
  upstream_error: 502,
  upstream_timeout: 504,
  rate_limited: 429,
  egress_denied: 502,
  service_unavailable: 503,
  integrity_broken: 500,
  internal_error: 500,
  // Locked, like a halted breaker: refused until a verification shows the chain intact again.
  integrity_not_ok: 423,
  unknown_reference: 422,
  replay_citation_refused: 422,
};

/** One named check inside a health report. */
export interface HealthCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

/** What every worker's `health()` answers: the result of really touching its bindings and config. */
export interface HealthReport {
  service: ServiceName;
  ok: boolean;
  checks: HealthCheck[];
}

/** Trading venues the system reads or trades. */
export const Venue = v.picklist(["kalshi", "polymarket", "ibkr"]);
/** A trading venue. */
export type Venue = v.InferOutput<typeof Venue>;

/** A lowercase hex SHA-256 digest. */
export const Sha256Hex = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, "must be a lowercase hex SHA-256"));
/** A lowercase hex SHA-256 digest. */
export type Sha256Hex = v.InferOutput<typeof Sha256Hex>;

/** Any JSON value (what audit payloads and canonical hashes accept). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * The deepest nesting of arrays and objects accepted in any JSON the system reads: request bodies, RPC
 * values, venue answers. Ours nest a few levels; 10,000 levels fit in 20 KB and overflow recursive code
 * (serialisers, canonical hashing), so they are refused where they enter.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * True when `value` nests arrays or objects deeper than `max`; walked without recursion (a cycle counts as too deep).
 * Two parallel stacks rather than one of pairs: it runs over every venue page (a thousand markets), where a pair
 * allocated per node cost as much as the walk.
 */
export function nestsDeeperThan(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  if (value === null || typeof value !== "object") return false;
  const nodes: object[] = [value];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const depth = depths.pop()!;
    if (depth > max) return true;
    const children: unknown[] = Array.isArray(node) ? node : Object.values(node);
    for (let i = 0; i < children.length; i++) {
      const child = children[i];
      if (child !== null && typeof child === "object") {
        nodes.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

/** A pipe action refusing JSON that nests deeper than MAX_JSON_DEPTH (for payloads, params, any JSON value). */
export function withinJsonDepth<T>() {
  return v.check<T, string>((value) => !nestsDeeperThan(value), `must nest at most ${MAX_JSON_DEPTH} levels`);
}

/** A required JSON payload (an audit event's, an approval request's), nesting at most MAX_JSON_DEPTH levels. */
export const JsonPayload = v.pipe(
  v.custom<JsonValue>((value) => value !== undefined, "payload is required"),
  withinJsonDepth(),
);
