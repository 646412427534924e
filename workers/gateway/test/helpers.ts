import { env, exports } from "cloudflare:workers";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";

export const TEAM = "paulp-test.cloudflareaccess.com";
export const AUD = "paulp-test-aud";

/** The gateway under test, entered through its real fetch handler. */
export function gateway(): Fetcher {
  return (exports as unknown as { default: Fetcher }).default;
}

/** A request to the gateway with the admin token. */
export function adminFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${env.ADMIN_TOKEN}`);
  return gateway().fetch(`https://gw.test${path}`, { ...init, headers });
}

export interface TestSigner {
  kid: string;
  sign(
    claims: JWTPayload,
    options?: { expiresIn?: string | number; header?: Record<string, unknown> },
  ): Promise<string>;
}

/** A fresh RS256 key pair generated in the test; `register` publishes its public half on the team JWKS. */
export async function newSigner(register: boolean): Promise<TestSigner> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = `test-${crypto.randomUUID()}`;
  if (register) {
    const jwk = { ...(await exportJWK(publicKey)), kid };
    const res = await env.VENUE_SIM.fetch(`https://${TEAM}/__sim/access/keys`, {
      method: "POST",
      body: JSON.stringify({ jwk }),
    });
    if (res.status !== 201) throw new Error(`could not register test key: ${res.status} ${await res.text()}`);
  }
  return {
    kid,
    async sign(claims, options = {}) {
      // Claims given by the test win over the defaults, so a test can forge a wrong aud or iss.
      return new SignJWT({ iss: `https://${TEAM}`, aud: AUD, sub: "user-1", ...claims })
        .setProtectedHeader({ alg: "RS256", kid, ...(options.header ?? {}) })
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? "10m")
        .sign(privateKey);
    },
  };
}

/** A signed Access token for `email` from a registered signer. */
export async function accessToken(
  signer: TestSigner,
  email: string,
  extra: JWTPayload = {},
): Promise<string> {
  return signer.sign({ email, sub: `sub-${email}`, ...extra });
}

/** Headers of a request authenticated as a person through Cloudflare Access. */
export function asPerson(token: string, email?: string): Record<string, string> {
  return email
    ? { "cf-access-jwt-assertion": token, "cf-access-authenticated-user-email": email }
    : { "cf-access-jwt-assertion": token };
}
