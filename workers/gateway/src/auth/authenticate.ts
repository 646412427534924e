import {
  ACCESS_EMAIL_HEADER,
  ACCESS_JWT_HEADER,
  ADMIN_TOKEN_PRINCIPAL,
  ErrorCode,
  type Principal,
} from "@paulp/contracts";
import { HttpError } from "@paulp/kit";
import type { JWTVerifyGetKey } from "jose";
import { AccessRejected, verifyAccessJwt } from "./access";
import { adminTokenProblem, bearerMatches, parseBearer } from "./admin-token";

/** What `authenticateAdmin` needs from the environment. */
export interface AdminAuthOptions {
  adminToken: string | undefined;
  access: { teamDomain: string; aud: string } | null;
  /** Resolves the Access signing keys (remote JWKS through the egress allowlist). */
  accessKeys: () => JWTVerifyGetKey;
  /**
   * True for `GET /admin/status`: while ADMIN_TOKEN is refused, a person verified by Access may still read
   * the status, which says why. Every other route stays closed to everyone.
   */
  readsStatus?: boolean;
  /** Where the reason a refused ADMIN_TOKEN closes the admin routes is written (never the token itself). */
  log?: (line: string) => void;
}

/** What a caller is told while ADMIN_TOKEN is refused: that admin auth is closed, never why. */
export const ADMIN_AUTH_CLOSED =
  "admin authentication is misconfigured: every admin route is closed until it is fixed";

const CHALLENGE = 'Bearer realm="paul-p-admin"';

function unauthorized(message: string): HttpError {
  return new HttpError(401, ErrorCode.unauthorized, message, undefined, { "www-authenticate": CHALLENGE });
}

/**
 * Authenticate an admin request, fail closed. A refused ADMIN_TOKEN closes every admin route (503; only a
 * person verified by Access may still read `GET /admin/status`, which says why);
 * an Access JWT, when sent, must verify (and the email header, when sent, must match it); otherwise the
 * bearer token must match in constant time. The email header alone never authenticates.
 */
export async function authenticateAdmin(request: Request, options: AdminAuthOptions): Promise<Principal> {
  const problem = await adminTokenProblem(options.adminToken);
  if (problem) {
    // The reason is for the operators (the log, and the status a verified person reads), not for whoever
    // asks: it would tell an attacker how the token is weak.
    (options.log ?? console.error)(`admin routes closed: ${problem}`);
    if (options.readsStatus && options.access && request.headers.get(ACCESS_JWT_HEADER)) {
      const person = await verifiedPerson(request, options.access, options.accessKeys).catch(() => null);
      if (person) return person;
    }
    throw new HttpError(503, ErrorCode.adminAuthMisconfigured, ADMIN_AUTH_CLOSED);
  }

  const emailHeader = request.headers.get(ACCESS_EMAIL_HEADER);
  if (request.headers.get(ACCESS_JWT_HEADER)) {
    if (!options.access) throw unauthorized("Cloudflare Access is not configured for this gateway");
    return verifiedPerson(request, options.access, options.accessKeys);
  }

  const presented = parseBearer(request.headers.get("authorization"));
  if (presented === null) {
    throw unauthorized(
      emailHeader !== null
        ? "the Access email header alone does not authenticate: a verified Cf-Access-Jwt-Assertion is required"
        : "missing credentials: send Authorization: Bearer <ADMIN_TOKEN> or sign in through Cloudflare Access",
    );
  }
  if (!(await bearerMatches(presented, options.adminToken!))) throw unauthorized("invalid admin token");
  return ADMIN_TOKEN_PRINCIPAL;
}

/** The person a request's Access JWT names, verified (and its email header, when sent, matching); throws 401. */
async function verifiedPerson(
  request: Request,
  access: NonNullable<AdminAuthOptions["access"]>,
  accessKeys: AdminAuthOptions["accessKeys"],
): Promise<Principal> {
  let identity: { subject: string; email: string };
  try {
    identity = await verifyAccessJwt(request.headers.get(ACCESS_JWT_HEADER) ?? "", access, accessKeys());
  } catch (error) {
    throw unauthorized(error instanceof AccessRejected ? error.message : "Access token rejected");
  }
  const emailHeader = request.headers.get(ACCESS_EMAIL_HEADER);
  if (emailHeader !== null && emailHeader.trim().toLowerCase() !== identity.email) {
    throw unauthorized("Access email header does not match the verified token");
  }
  return { method: "access", subject: identity.subject, email: identity.email };
}
