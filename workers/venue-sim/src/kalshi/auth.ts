import { kalshiEndpoint } from "@paulp/kalshi-spec";
import type { SimContext } from "../context";

/** How far a signed timestamp may be from the simulator's clock. */
export const FRESHNESS_MS = 5_000;

/** A key the simulator trusts: its SPKI PEM and its scopes (kalshi-typescript `models/api-key-scope.ts`). */
export interface SimKalshiKey {
  pem: string;
  scopes: string[];
}

/** Kalshi's default when a key is created without scopes: full access (`CreateApiKeyRequest.scopes`). */
export const FULL_ACCESS = ["read", "write"];

/** Kalshi's error envelope for auth refusals. */
const refuse = (status: number, code: string, message: string) =>
  Response.json({ error: { code, message } }, { status });

function pemBody(pem: string): Uint8Array {
  const b64 = pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

async function lookupKey(sim: SimContext, keyId: string): Promise<SimKalshiKey | null> {
  const stored = await sim.storage.get<SimKalshiKey | string>(`kalshi:key:${keyId}`);
  if (typeof stored === "string") return { pem: stored, scopes: FULL_ACCESS };
  return stored ?? sim.kalshiPublicKeys[keyId] ?? null;
}

/**
 * The spec's authentication, per operation (the `auth` flag of @paulp/kalshi-spec's table, itself checked
 * against kalshi-typescript's docs): an authenticated operation needs `KALSHI-ACCESS-KEY`, `-TIMESTAMP` (Unix
 * ms within FRESHNESS_MS) and `-SIGNATURE` (RSA-PSS over timestamp + METHOD + path) by a known key, and a write
 * needs the key's `write` scope (a read-only key cannot trade). A public operation answers anyone, but a
 * signature that is present must still verify. Answers the refusal, or null with the key id (if any).
 */
export async function kalshiAuth(
  request: Request,
  url: URL,
  sim: SimContext,
): Promise<{ refused: Response } | { keyId: string | null }> {
  const endpoint = kalshiEndpoint(request.method, url.pathname);
  const keyId = request.headers.get("KALSHI-ACCESS-KEY");
  const ts = request.headers.get("KALSHI-ACCESS-TIMESTAMP");
  const sig = request.headers.get("KALSHI-ACCESS-SIGNATURE");
  const required = endpoint?.auth ?? url.pathname.includes("/portfolio/");
  if (!keyId && !ts && !sig && !required) return { keyId: null };
  if (!keyId || !ts || !sig)
    return { refused: refuse(401, "unauthorized", "missing KALSHI-ACCESS-* headers") };
  if (!/^\d{13}$/.test(ts) || Math.abs(sim.now() - Number(ts)) > FRESHNESS_MS)
    return { refused: refuse(401, "unauthorized", "stale or malformed timestamp") };
  const key = await lookupKey(sim, keyId);
  if (!key) return { refused: refuse(401, "unauthorized", "unknown api key") };
  let ok = false;
  try {
    const pub = await crypto.subtle.importKey(
      "spki",
      pemBody(key.pem),
      { name: "RSA-PSS", hash: "SHA-256" },
      false,
      ["verify"],
    );
    const signature = Uint8Array.from(atob(sig), (c) => c.charCodeAt(0));
    const message = new TextEncoder().encode(`${ts}${request.method.toUpperCase()}${url.pathname}`);
    ok = await crypto.subtle.verify({ name: "RSA-PSS", saltLength: 32 }, pub, signature, message);
  } catch {
    ok = false;
  }
  if (!ok) return { refused: refuse(401, "unauthorized", "signature does not verify") };
  const write = request.method !== "GET";
  const scoped = write
    ? key.scopes.some((s) => s === "write" || s === "write::trade")
    : key.scopes.some((s) => s === "read" || s.startsWith("read::"));
  if (!scoped)
    return { refused: refuse(403, "forbidden", `api key lacks the ${write ? "write" : "read"} scope`) };
  return { keyId };
}
