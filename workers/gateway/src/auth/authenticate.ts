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
}

const CHALLENGE = 'Bearer realm="paul-p-admin"';

function unauthorized(message: string): HttpError {
  return new HttpError(401, ErrorCode.unauthorized, message, undefined, { "www-authenticate": CHALLENGE });
}

/**
 * Authenticate an admin request, fail closed. A misconfigured ADMIN_TOKEN closes every admin route (503);
 * an Access JWT, when sent, must verify (and the email header, when sent, must match it); otherwise the
 * bearer token must match in constant time. The email header alone never authenticates.
 */
export async function authenticateAdmin(request: Request, options: AdminAuthOptions): Promise<Principal> {
  const problem = adminTokenProblem(options.adminToken);
  if (problem) {
    throw new HttpError(
      503,
      ErrorCode.adminAuthMisconfigured,
      `admin authentication is misconfigured: ${problem}`,
    );
  }

  const jwt = request.headers.get(ACCESS_JWT_HEADER);
  const emailHeader = request.headers.get(ACCESS_EMAIL_HEADER);
  if (jwt) {
    if (!options.access) throw unauthorized("Cloudflare Access is not configured for this gateway");
    let identity: { subject: string; email: string };
    try {
      identity = await verifyAccessJwt(jwt, options.access, options.accessKeys());
    } catch (error) {
      throw unauthorized(error instanceof AccessRejected ? error.message : "Access token rejected");
    }
    if (emailHeader !== null && emailHeader.trim().toLowerCase() !== identity.email) {
      throw unauthorized("Access email header does not match the verified token");
    }
    return { method: "access", subject: identity.subject, email: identity.email };
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
