// The node:crypto functions this package's chain code uses (workerd implements them natively under nodejs_compat),
// for programs typed with @cloudflare/workers-types instead of @types/node: the audit worker lists it in its
// tsconfig's types, the gateway's audit tests reference it (`@paulp/audit-chain/node-crypto`). The package's own
// program has @types/node and leaves this file out.
declare module "node:crypto" {
  interface Hash {
    update(data: string | Uint8Array): Hash;
    digest(encoding: "hex"): string;
    /** The raw digest (a Buffer, which is a Uint8Array): the verifier compares it without a hex string. */
    digest(): Uint8Array;
  }
  export function createHash(algorithm: "sha256"): Hash;
  /** Byte equality of two same-length arrays, natively (the R2 copy check compares whole objects). */
  export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean;
  // Ed25519 anchor signatures (signed checkpoints): keys from DER, one-shot sign and verify.
  interface KeyObject {
    export(options: { format: "der"; type: "spki" | "pkcs8" }): Uint8Array;
  }
  export function createPrivateKey(key: { key: Uint8Array; format: "der"; type: "pkcs8" }): KeyObject;
  export function createPublicKey(
    key: KeyObject | { key: Uint8Array; format: "der"; type: "spki" },
  ): KeyObject;
  export function sign(algorithm: null, data: Uint8Array, key: KeyObject): Uint8Array;
  export function verify(algorithm: null, data: Uint8Array, key: KeyObject, signature: Uint8Array): boolean;
}
