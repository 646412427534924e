import type { SimContext, SimHandler } from "./context";

/**
 * Cloudflare Access double (dev and tests only). Serves the team's JWKS at /cdn-cgi/access/certs in
 * Cloudflare's shape (`keys`, `public_cert`, `public_certs`), with:
 * - the simulator's own RS256 signing key, generated on first use and kept in the state object, which
 *   `POST /__sim/access/token` uses to mint a login token for an email (so `pnpm dev` can act as two
 *   different people to try two-person approval);
 * - public keys registered by tests with `POST /__sim/access/keys` (`{ "jwk": {...} }`), whose private
 *   halves stay in the test.
 */
export const handleAccess: SimHandler = async (request, url, sim) => {
  const team = url.hostname;
  if (request.method === "GET" && url.pathname === "/cdn-cgi/access/certs") {
    const own = await ownKey(sim);
    const registered = (await sim.storage.get<JsonWebKey[]>(`access:${team}:keys`)) ?? [];
    return Response.json({
      keys: [own.publicJwk, ...registered],
      public_cert: { kid: own.publicJwk.kid },
      public_certs: [],
    });
  }
  if (request.method === "POST" && url.pathname === "/__sim/access/keys") {
    const body = (await request.json().catch(() => null)) as { jwk?: JsonWebKey & { kid?: string } } | null;
    const jwk = body?.jwk;
    if (jwk?.kty !== "RSA" || !jwk.n || !jwk.e || !jwk.kid || "d" in jwk) {
      return Response.json({ error: "jwk must be a public RSA JWK with a kid" }, { status: 400 });
    }
    const key = `access:${team}:keys`;
    const keys = ((await sim.storage.get<JsonWebKey[]>(key)) ?? []).filter(
      (k) => (k as { kid?: string }).kid !== jwk.kid,
    );
    keys.push({ kty: "RSA", n: jwk.n, e: jwk.e, kid: jwk.kid, alg: "RS256", use: "sig" } as JsonWebKey);
    await sim.storage.put(key, keys);
    return Response.json({ registered: jwk.kid }, { status: 201 });
  }
  if (request.method === "POST" && url.pathname === "/__sim/access/token") {
    const body = (await request.json().catch(() => null)) as {
      email?: string;
      aud?: string;
      ttlSeconds?: number;
    } | null;
    if (!body?.email || !/^[^@\s]+@[^@\s]+$/.test(body.email) || !body.aud) {
      return Response.json({ error: "email and aud are required" }, { status: 400 });
    }
    const own = await ownKey(sim);
    const now = Math.floor(sim.now() / 1000);
    const ttl = Math.min(Math.max(body.ttlSeconds ?? 3600, 1), 86_400);
    const token = await signRs256(own.privateKey, own.publicJwk.kid!, {
      iss: `https://${team}`,
      aud: [body.aud],
      sub: `sim-${await shortHash(body.email)}`,
      email: body.email,
      iat: now,
      nbf: now,
      exp: now + ttl,
      type: "app",
      identity_nonce: crypto.randomUUID(),
    });
    return Response.json({ token, expiresAt: new Date((now + ttl) * 1000).toISOString() });
  }
  return null;
};

interface OwnKey {
  privateKey: CryptoKey;
  publicJwk: JsonWebKey & { kid?: string };
}

async function ownKey(sim: SimContext): Promise<OwnKey> {
  const stored = await sim.storage.get<{ privateJwk: JsonWebKey; publicJwk: JsonWebKey & { kid: string } }>(
    "access:own-key",
  );
  if (stored) {
    const privateKey = await crypto.subtle.importKey(
      "jwk",
      stored.privateJwk,
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      false,
      ["sign"],
    );
    return { privateKey, publicJwk: stored.publicJwk };
  }
  const pair = (await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  const privateJwk = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
  const pub = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  const publicJwk = {
    kty: "RSA",
    n: pub.n,
    e: pub.e,
    alg: "RS256",
    use: "sig",
    kid: `sim-${crypto.randomUUID()}`,
  };
  // A concurrent first use may have stored a key meanwhile: keep the first one written.
  const again = await sim.storage.get<{ privateJwk: JsonWebKey; publicJwk: JsonWebKey & { kid: string } }>(
    "access:own-key",
  );
  if (again) return ownKey(sim);
  await sim.storage.put("access:own-key", { privateJwk, publicJwk });
  return { privateKey: pair.privateKey, publicJwk };
}

function b64url(bytes: Uint8Array | string): string {
  const raw = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  let s = "";
  for (const b of raw) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

async function signRs256(key: CryptoKey, kid: string, claims: Record<string, unknown>): Promise<string> {
  const input = `${b64url(JSON.stringify({ alg: "RS256", kid, typ: "JWT" }))}.${b64url(JSON.stringify(claims))}`;
  const sig = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, new TextEncoder().encode(input));
  return `${input}.${b64url(new Uint8Array(sig))}`;
}

async function shortHash(s: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s.toLowerCase())));
  return Array.from(d.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}
