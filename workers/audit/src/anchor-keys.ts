import { type NoteSigner, type NoteVerifier, parseSignerKey, parseVerifierKey } from "@paulp/audit-chain";

/** The anchor signing key and the verifier keys anchors may be signed by (this key, and retired ones). */
export interface AnchorKeys {
  /** Null when the signing key is missing or malformed: no anchor is made (fail closed). */
  signer: NoteSigner | null;
  verifiers: NoteVerifier[];
  /** Why a key could not be read (never the key itself). */
  error: string | null;
}

/** Parse the worker's key secrets: `AUDIT_SIGNING_KEY` and the comma-separated `AUDIT_RETIRED_VERIFIER_KEYS`. */
export function parseAnchorKeys(
  signingKey: string | undefined,
  retiredVerifierKeys: string | undefined,
): AnchorKeys {
  let signer: NoteSigner | null = null;
  let error: string | null = null;
  const verifiers: NoteVerifier[] = [];
  try {
    if (!signingKey) throw new Error("AUDIT_SIGNING_KEY is not set");
    signer = parseSignerKey(signingKey);
    verifiers.push(signer.verifier);
  } catch (e) {
    // Never the key itself in a message.
    error = `AUDIT_SIGNING_KEY: ${(e as Error).message}`;
  }
  for (const vkey of (retiredVerifierKeys ?? "").split(",").filter((k) => k.trim())) {
    try {
      verifiers.push(parseVerifierKey(vkey));
    } catch (e) {
      error ??= `AUDIT_RETIRED_VERIFIER_KEYS: ${(e as Error).message}`;
    }
  }
  return { signer, verifiers, error };
}
