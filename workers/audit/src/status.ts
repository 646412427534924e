import type { ChainPoint } from "@paulp/audit-chain";
import type { AuditAnchor, AuditStatus, AuditVerification } from "@paulp/contracts";
import { auditAlerts } from "./alerts";
import type { AnchorKeys } from "./anchor-keys";
import type { ChainStore } from "./chain-store";
import type { LastFailure } from "./integrity";
import type { MirrorProgress } from "./mirror";

/** What the sequencer holds in memory that the status shows beside the store. */
export interface ChainFacts {
  head: ChainPoint;
  /** Why the stored head cannot be read, if it cannot. */
  headError: string | null;
  /** Why the chain was found not to contain the latest anchor, if it was. */
  forked: string | null;
  mirror: MirrorProgress;
  keys: AnchorKeys;
  /** The latest anchor in D1, read by the caller. */
  lastAnchor: AuditAnchor | null;
}

/** Everything `GET /admin/audit/status` shows: the recorded integrity, cheap live checks, ages and alerts. */
export function chainStatus(store: ChainStore, chain: ChainFacts, nowMs: number): AuditStatus {
  const { keys, lastAnchor } = chain;
  const entryCount = store.entryCount();
  const recorded = store.getMeta<"ok" | "broken">("integrity");
  // Cheap live checks on top of the last verification: an unreadable head, a head below an anchor.
  const liveBroken =
    chain.headError !== null ||
    chain.forked !== null ||
    (lastAnchor !== null && lastAnchor.toSeq > chain.head.seq);
  const integrity = liveBroken || recorded === "broken" ? "broken" : (recorded ?? "unknown");
  const ageOf = (iso: string | undefined) =>
    iso === undefined ? null : Math.max(0, Math.floor((nowMs - Date.parse(iso)) / 1000));
  const lastFull = store.getMeta<AuditVerification>("last_full_verification") ?? null;
  const firstUnanchored = (lastAnchor?.toSeq ?? 0) + 1;
  const oldestUnanchoredTs = firstUnanchored <= chain.head.seq ? store.tsAt(firstUnanchored) : undefined;
  const failure = store.getMeta<LastFailure>("last_failure");
  const status: AuditStatus = {
    headSeq: chain.head.seq,
    headHash: chain.head.hash,
    entryCount,
    lastAnchor,
    lastAnchorAgeSeconds: ageOf(lastAnchor?.anchoredAt),
    unanchoredEntries: Math.max(0, chain.head.seq - (lastAnchor?.toSeq ?? 0)),
    r2MirrorLag: Math.max(0, chain.head.seq - chain.mirror.mirroredTo),
    r2MirrorError: chain.mirror.error,
    lastVerification: store.getMeta<AuditVerification>("last_verification") ?? null,
    integrity,
    lastFullVerification: lastFull,
    lastFullVerificationAgeSeconds: ageOf(lastFull?.verifiedAt),
    // An entry whose time cannot be read counts as overdue: it is old enough to be anchored.
    oldestUnanchoredAgeSeconds:
      firstUnanchored > chain.head.seq ? null : (ageOf(oldestUnanchoredTs) ?? Number.MAX_SAFE_INTEGER),
    anchorVerifierKey: keys.signer?.verifierKey ?? null,
    alerts: [],
  };
  status.alerts = auditAlerts(status, {
    nowMs,
    chainStartedAt: chain.head.seq > 0 ? (store.tsAt(1) ?? null) : null,
    keyError: keys.signer ? null : keys.error,
    brokenReason: chain.forked ?? chain.headError ?? failure?.reason ?? null,
    brokenSince: failure?.verifiedAt ?? null,
  });
  return status;
}
