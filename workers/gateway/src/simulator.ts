import type { Env } from "./env";

/**
 * The venue simulator, only for a request made to a local or test host. Deployed configs never bind VENUE_SIM,
 * but the top-level (dev) config does and shares the production worker name: should it ever be deployed by
 * mistake, a request arriving through Cloudflare (a real hostname) still gets no simulator, so nobody can mint
 * Access tokens against its JWKS. Cloudflare routes by hostname, so a client cannot reach a deployed worker as
 * 127.0.0.1 or `*.test` (a name reserved for testing, RFC 2606).
 */
export function localSimulator(request: Request, env: Env): Fetcher | undefined {
  if (!env.VENUE_SIM) return undefined;
  const host = new URL(request.url).hostname;
  const local = host === "127.0.0.1" || host === "localhost" || host === "[::1]" || host.endsWith(".test");
  return local ? env.VENUE_SIM : undefined;
}
