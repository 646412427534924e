/**
 * RSA private keys from PEM. WebCrypto imports only PKCS#8, while Kalshi's downloaded keys are often PKCS#1
 * (PEM label "RSA PRIVATE KEY", i.e. PKCS#1), so a PKCS#1 key is wrapped in the PKCS#8 envelope (RFC 5208: version 0,
 * AlgorithmIdentifier rsaEncryption with NULL parameters, the PKCS#1 bytes as an OCTET STRING).
 */

const RSA_ALGORITHM_ID = Uint8Array.from([
  0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
]);

function derLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

function der(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((a, p) => a + p.length, 0);
  const head = Uint8Array.of(tag, ...derLength(len));
  const out = new Uint8Array(head.length + len);
  out.set(head);
  let at = head.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Wrap PKCS#1 RSAPrivateKey DER in a PKCS#8 PrivateKeyInfo. */
export function pkcs1ToPkcs8(pkcs1: Uint8Array): Uint8Array {
  return der(0x30, Uint8Array.of(0x02, 0x01, 0x00), RSA_ALGORITHM_ID, der(0x04, pkcs1));
}

/** The DER bytes and label of a PEM block; throws on anything else. */
export function decodePem(pem: string): { label: string; der: Uint8Array } {
  // Secrets pasted into dashboards often arrive with literal "\n" sequences.
  const text = pem.replace(/\\n/g, "\n").trim();
  const m = /^-----BEGIN ([A-Z ]+)-----([\s\S]+?)-----END \1-----$/.exec(text);
  if (!m) throw new Error("not a PEM block");
  const b64 = m[2]!.replace(/\s+/g, "");
  return { label: m[1]!, der: Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)) };
}

/** Import an RSA private key (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`) for RSA-PSS SHA-256 signing. */
export async function importRsaPssPrivateKey(pem: string): Promise<CryptoKey> {
  const { label, der: bytes } = decodePem(pem);
  let pkcs8: Uint8Array;
  if (label === "PRIVATE KEY") pkcs8 = bytes;
  else if (label === "RSA PRIVATE KEY") pkcs8 = pkcs1ToPkcs8(bytes);
  else throw new Error(`unsupported PEM label ${label}`);
  return crypto.subtle.importKey("pkcs8", pkcs8, { name: "RSA-PSS", hash: "SHA-256" }, false, ["sign"]);
}

/**
 * Kalshi's request signature (kalshi-typescript `auth.ts`): RSA-PSS with SHA-256 (MGF1-SHA-256, salt = the
 * digest length, 32) over `timestamp_ms + METHOD + path`, the path including `/trade-api/v2` and excluding the
 * query string; standard base64.
 */
export async function kalshiSignature(
  key: CryptoKey,
  timestamp: string,
  method: string,
  path: string,
): Promise<string> {
  const message = new TextEncoder().encode(`${timestamp}${method.toUpperCase()}${path}`);
  const sig = new Uint8Array(await crypto.subtle.sign({ name: "RSA-PSS", saltLength: 32 }, key, message));
  let s = "";
  for (const b of sig) s += String.fromCharCode(b);
  return btoa(s);
}

/** Signs Kalshi requests with one API key: the three `KALSHI-ACCESS-*` headers for a method and URL. */
export interface KalshiSigner {
  readonly keyId: string;
  /** Throws when the private key cannot be imported (the caller answers "not configured"). */
  headers(method: string, url: string | URL): Promise<Record<string, string>>;
}

/**
 * A signer for one key pair, or null when either half is missing. The key is imported once; a failed import is
 * forgotten so a corrected secret is picked up on the next call.
 */
export function createKalshiSigner(o: {
  keyId: string | undefined;
  privateKeyPem: string | undefined;
  now: () => number;
}): KalshiSigner | null {
  if (!o.keyId || !o.privateKeyPem) return null;
  const { keyId, privateKeyPem } = o;
  let key: Promise<CryptoKey> | null = null;
  return {
    keyId,
    async headers(method, url) {
      const ts = String(o.now());
      let signature: string;
      try {
        key ??= importRsaPssPrivateKey(privateKeyPem);
        signature = await kalshiSignature(await key, ts, method, new URL(url).pathname);
      } catch (error) {
        key = null;
        throw error;
      }
      return {
        "KALSHI-ACCESS-KEY": keyId,
        "KALSHI-ACCESS-TIMESTAMP": ts,
        "KALSHI-ACCESS-SIGNATURE": signature,
      };
    },
  };
}
