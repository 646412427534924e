import type { EgressFetch } from "@paulp/kit";
import { errors, type JWTVerifyGetKey, jwtVerify } from "jose";
import { JWKS_TIMEOUT_MS, JwksCache } from "./jwks-cache";

/** Cloudflare Access settings of the gateway. */
export interface AccessConfig {
  teamDomain: string;
  aud: string;
}

/** What a verified Access token tells us. */
export interface AccessIdentity {
  subject: string;
  email: string;
}

/** Seconds of clock skew tolerated on exp/nbf/iat. */
export const ACCESS_CLOCK_TOLERANCE_SECONDS = 30;

// One JWKS cache per isolate per URL: one fetch at a time, a cooldown after a failure (jwks-cache.ts).
const jwksCache = new Map<string, JwksCache>();

/** The JWKS URL Cloudflare publishes for a team domain. */
export function jwksUrlFor(teamDomain: string): string {
  return `https://${teamDomain}/cdn-cgi/access/certs`;
}

/**
 * The team's signing keys, cached per isolate. Keys fetched through the simulator (local dev and tests) are
 * cached apart from keys fetched from Cloudflare, so one can never answer for the other.
 */
export function accessJwks(teamDomain: string, fetchVia: EgressFetch, viaSimulator = false): JWTVerifyGetKey {
  return accessJwksCache(teamDomain, fetchVia, viaSimulator).getKey;
}

/** The per-isolate cache behind `accessJwks` (also probed by `/admin/status`). */
export function accessJwksCache(teamDomain: string, fetchVia: EgressFetch, viaSimulator = false): JwksCache {
  const url = jwksUrlFor(teamDomain);
  const key = viaSimulator ? `simulator:${url}` : url;
  let cache = jwksCache.get(key);
  if (!cache) {
    cache = new JwksCache({
      // Every outbound call goes through the egress allowlist, including the JWKS fetch.
      fetchJwks: async () => {
        const res = await fetchVia(url, {
          headers: { accept: "application/json" },
          signal: AbortSignal.timeout(JWKS_TIMEOUT_MS),
        });
        if (!res.ok) throw new Error(`the Access keys endpoint answered ${res.status}`);
        return res.json();
      },
      now: Date.now,
      after: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    });
    jwksCache.set(key, cache);
  }
  return cache;
}

export class AccessRejected extends Error {
  override name = "AccessRejected";
}

/**
 * Verify a `Cf-Access-Jwt-Assertion`: RS256 only, `aud` and `iss` pinned, `exp` required. Any failure,
 * including an unreachable JWKS, rejects: Access is never bypassed.
 */
export async function verifyAccessJwt(
  token: string,
  config: AccessConfig,
  keys: JWTVerifyGetKey,
): Promise<AccessIdentity> {
  try {
    const { payload } = await jwtVerify(token, keys, {
      algorithms: ["RS256"],
      audience: config.aud,
      issuer: `https://${config.teamDomain}`,
      requiredClaims: ["exp", "sub"],
      clockTolerance: ACCESS_CLOCK_TOLERANCE_SECONDS,
    });
    const email = typeof payload.email === "string" ? payload.email : "";
    if (!email) throw new AccessRejected("Access token has no email claim");
    return { subject: String(payload.sub), email: email.toLowerCase() };
  } catch (error) {
    if (error instanceof AccessRejected) throw error;
    if (error instanceof errors.JWTExpired) throw new AccessRejected("Access token expired");
    if (error instanceof errors.JWTClaimValidationFailed)
      throw new AccessRejected(`Access token claim ${error.claim} is invalid`);
    if (error instanceof errors.JWKSNoMatchingKey)
      throw new AccessRejected("Access token signed by an unknown key");
    if (error instanceof errors.JOSEAlgNotAllowed)
      throw new AccessRejected("Access token algorithm is not allowed");
    if (error instanceof errors.JWKSTimeout)
      throw new AccessRejected("Access keys could not be fetched in time");
    if (error instanceof errors.JOSEError) throw new AccessRejected(`Access token rejected: ${error.code}`);
    throw new AccessRejected(`Access keys unavailable: ${(error as Error).message}`);
  }
}
