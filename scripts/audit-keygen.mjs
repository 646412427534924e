// The audit worker's anchor signing key: a fresh Ed25519 key pair as signed-note keys (Go sumdb note encoding,
// c2sp.org/signed-note key IDs). `node scripts/audit-keygen.mjs <key name>` prints the signer key (the AUDIT_SIGNING_KEY
// secret: pipe it into `wrangler secret put`, never store it) and the verifier key (public: pin it, see
// docs/audit.md). `pnpm dev` and the tests call generateAuditKey() for keys of their own.
import { createHash, generateKeyPairSync } from "node:crypto";
import { fileURLToPath } from "node:url";

/** The key name (and checkpoint origin) the dev and test keys use. */
export const DEV_KEY_NAME = "paulp.dev/audit";

/** A new key pair: `{ signerKey, verifierKey }` (signerKey is secret). */
export function generateAuditKey(name = DEV_KEY_NAME) {
  if (!name || /[\s+]/u.test(name)) throw new Error("key name: non-empty, no spaces, no plus");
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const pub = publicKey.export({ format: "jwk" }).x;
  const seed = privateKey.export({ format: "jwk" }).d;
  const pubBytes = Buffer.concat([Buffer.from([1]), Buffer.from(pub, "base64url")]);
  const seedBytes = Buffer.concat([Buffer.from([1]), Buffer.from(seed, "base64url")]);
  const id = createHash("sha256")
    .update(Buffer.concat([Buffer.from(`${name}\n`), pubBytes]))
    .digest()
    .subarray(0, 4)
    .toString("hex");
  return {
    signerKey: `PRIVATE+KEY+${name}+${id}+${seedBytes.toString("base64")}`,
    verifierKey: `${name}+${id}+${pubBytes.toString("base64")}`,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const name = process.argv[2];
  if (!name) {
    console.error("usage: node scripts/audit-keygen.mjs <key name, e.g. paulp.example.com/audit>");
    process.exit(2);
  }
  const { signerKey, verifierKey } = generateAuditKey(name);
  // The secret on stdout alone (so it can be piped), the public key on stderr.
  console.error(`verifier key (public: pin it in docs/audit.md and PAULP_AUDIT_KEY):\n${verifierKey}`);
  process.stdout.write(`${signerKey}\n`);
}
