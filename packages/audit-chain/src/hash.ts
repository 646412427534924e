import { createHash } from "node:crypto";

// node:crypto's createHash is synchronous and native both in Node (the offline verifier) and in workerd
// (nodejs_compat): the sequencer can hash an entry with no await between reading the head and writing it.

/** SHA-256 of a UTF-8 string or bytes, as lowercase hex. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Domain-separation prefixes: a hash of one kind of record can never be replayed as another kind. */
export const DOMAIN = {
  entry: "paulp.audit.entry.v1",
  anchor: "paulp.audit.anchor.v1",
  manifest: "paulp.audit.r2-manifest.v1",
  genesis: "paulp.audit.genesis.v1",
  anchorGenesis: "paulp.audit.anchor-genesis.v1",
} as const;

/** Hash of `domain`, a newline, then the canonical JSON text. */
export function domainHash(domain: string, canonicalText: string): string {
  return sha256Hex(`${domain}\n${canonicalText}`);
}

/** `prevHash` of entry 1: a fixed constant anyone can recompute. */
export const GENESIS_HASH = sha256Hex(DOMAIN.genesis);

/** `prevAnchorHash` of anchor 1. */
export const ANCHOR_GENESIS_HASH = sha256Hex(DOMAIN.anchorGenesis);
