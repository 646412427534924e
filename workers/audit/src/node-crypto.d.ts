// The node:crypto functions the chain uses (workerd implements it natively under nodejs_compat).
// Declared here because @types/node cannot share a program with @cloudflare/workers-types.
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
