// The one node:crypto function the chain uses (workerd implements it natively under nodejs_compat).
// Declared here because @types/node cannot share a program with @cloudflare/workers-types.
declare module "node:crypto" {
  interface Hash {
    update(data: string | Uint8Array): Hash;
    digest(encoding: "hex"): string;
    /** The raw digest (a Buffer, which is a Uint8Array): the verifier compares it without a hex string. */
    digest(): Uint8Array;
  }
  export function createHash(algorithm: "sha256"): Hash;
}
