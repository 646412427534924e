/// <reference types="@paulp/audit-chain/node-crypto" />
// (signing uses node:crypto; audit-chain's shim types it without @types/node)

import { env } from "cloudflare:workers";
import {
  type AuditAnchor,
  buildAnchor,
  type ChainPoint,
  parseSignerKey,
  signCheckpoint,
} from "@paulp/audit-chain";

/**
 * Put an anchor for `head` in D1_ANCHOR, linked onto `previous` and signed with the audit worker's own key, as if
 * the sequencer had been restored to a state older than what D1 anchored: every hash and the signature hold, only
 * the chain does not contain it. (D1 refuses an unsigned anchor row.)
 */
export async function insertForeignAnchor(
  previous: AuditAnchor | null,
  head: ChainPoint,
  r2ManifestHash = "f".repeat(64),
): Promise<AuditAnchor> {
  const anchor = buildAnchor(previous, head, new Date().toISOString(), r2ManifestHash);
  await env.TEST_D1_ANCHOR.prepare(
    "INSERT INTO anchors (anchor_no, to_seq, head_hash, prev_anchor_hash, anchored_at, r2_manifest_hash, anchor_hash, checkpoint) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  )
    .bind(
      anchor.anchorNo,
      anchor.toSeq,
      anchor.headHash,
      anchor.prevAnchorHash,
      anchor.anchoredAt,
      anchor.r2ManifestHash,
      anchor.anchorHash,
      signCheckpoint(anchor, parseSignerKey(env.TEST_AUDIT_SIGNING_KEY)),
    )
    .run();
  return anchor;
}
