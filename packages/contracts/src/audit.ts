import * as v from "valibot";
import {
  type HealthReport,
  JsonPayload,
  type JsonValue,
  Principal,
  type Result,
  ServiceName,
} from "./common";

/** An event a worker asks the audit chain to record. `type` is dotted, e.g. `risk.decision`. */
export const AuditEventInput = v.object({
  type: v.pipe(
    v.string(),
    v.maxLength(128),
    v.regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/, "must be a dotted lower-case event type"),
  ),
  service: ServiceName,
  actor: Principal,
  // JSON-ness (no NaN, Infinity, lone surrogates) is checked by the audit worker with canonicalJson.
  payload: JsonPayload,
});
/** An event to append to the audit chain. */
export type AuditEventInput = v.InferOutput<typeof AuditEventInput>;

/**
 * What `append` takes across the binding: any dotted type and a payload the audit worker checks as JSON. Workers
 * append through kit's `auditAppend`, typed by the event catalog (audit-events.ts); this is the wire's shape.
 */
export interface AuditAppendInput {
  type: string;
  service: ServiceName;
  actor: Principal;
  payload: unknown;
}

/**
 * Options of one `append`. `idempotencyKey`: the caller's own id for this one record (an outbox's record id). An
 * append whose key the chain has already recorded answers that entry's receipt and records nothing, so a retry
 * after an ambiguous failure (a timeout after the write) cannot record twice. The key is kept beside the entry,
 * outside the hashed line, for 30 days after its entry (docs/audit.md); within them a key names one record
 * (reusing it for another event is refused as a conflict).
 */
export const AuditAppendOptions = v.object({
  idempotencyKey: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^[A-Za-z0-9_.:-]{8,128}$/, "must be 8..128 characters of letters, digits and _ . : -"),
    ),
  ),
});
/** Options of one `append`. */
export type AuditAppendOptions = v.InferOutput<typeof AuditAppendOptions>;

/** One stored entry of the chain; `hash` covers every other field (see packages/audit-chain). */
export interface AuditEntry {
  seq: number;
  ts: string;
  type: string;
  service: ServiceName;
  actor: Principal;
  payload: JsonValue;
  prevHash: string;
  hash: string;
}

/** One create-only object of the R2 mirror: entries `fromSeq..toSeq`, one canonical entry per line. */
export interface AuditMirrorBatch {
  key: string;
  fromSeq: number;
  toSeq: number;
  /** SHA-256 of the object's bytes (also given to R2 so it rejects a corrupted upload). */
  sha256: string;
}

/** Proof that an append is durable. */
export interface AuditReceipt {
  seq: number;
  hash: string;
}

/** One anchor row in D1_ANCHOR: a checkpoint of the chain head. */
export interface AuditAnchor {
  anchorNo: number;
  toSeq: number;
  headHash: string;
  prevAnchorHash: string;
  anchoredAt: string;
  r2ManifestHash: string;
  /** Hash of this anchor row's canonical form; the next anchor's `prevAnchorHash`. */
  anchorHash: string;
  /**
   * The anchor signed by the audit worker's Ed25519 key: a C2SP-style signed checkpoint (origin, `toSeq`,
   * base64 `anchorHash`, a blank line, `— <key name> <signature>`). Not covered by `anchorHash` (it signs it).
   * Absent only on rows written before anchors were signed, which verification refuses.
   */
  checkpoint?: string;
}

/** The result of a verification run. */
export interface AuditVerification {
  mode: "incremental" | "full";
  ok: boolean;
  fromSeq: number;
  toSeq: number;
  checkedEntries: number;
  checkedAnchors: number;
  /** First broken sequence number, when not ok. */
  brokenSeq?: number;
  /** The anchor at fault, when the break is in an anchor row. */
  brokenAnchor?: number;
  reason?: string;
  verifiedAt: string;
  /**
   * False when a full verification stopped at an anchor on the way (its R2 reads per call are bounded):
   * call `verify({ mode: "full" })` again to go on. True when the run reached the head (always, for an
   * incremental run); absent in results stored before steps existed.
   */
  complete?: boolean;
}

/** Options of a verification: `incremental` starts at the last verified anchor, `full` at genesis. */
export const AuditVerifyOptions = v.object({
  mode: v.picklist(["incremental", "full"]),
  actor: Principal,
  /**
   * `full` only: take every step of a stepped full verification in this one call, to the head (what the daily
   * scheduled verification does); otherwise one step per call.
   */
  untilComplete: v.optional(v.boolean()),
});
/** Options of a verification. */
export type AuditVerifyOptions = v.InferOutput<typeof AuditVerifyOptions>;

/** What `GET /admin/audit/status` shows; `integrity: "broken"` is what risk/gateway poll to halt. */
export interface AuditStatus {
  headSeq: number;
  headHash: string;
  entryCount: number;
  lastAnchor: AuditAnchor | null;
  lastAnchorAgeSeconds: number | null;
  unanchoredEntries: number;
  r2MirrorLag: number;
  /** Last error of the R2 mirror, if its latest attempt failed (it is retried by an alarm). */
  r2MirrorError: string | null;
  lastVerification: AuditVerification | null;
  integrity: "ok" | "broken" | "unknown";
  /** The last full verification that reached the head (the daily scheduled one, or one on request). */
  lastFullVerification: AuditVerification | null;
  lastFullVerificationAgeSeconds: number | null;
  /** Age of the oldest entry no anchor covers yet (null when every entry is anchored). */
  oldestUnanchoredAgeSeconds: number | null;
  /** The verifier key of the anchor signatures (public; pin it), or null when the signing key is not set. */
  anchorVerifierKey: string | null;
  /** Conditions an operator must be told of, now; empty when none. */
  alerts: AuditAlert[];
}

/** What the audit status raises (see docs/audit.md, "Alerts"). */
export const AuditAlertCode = v.picklist([
  // integrity is broken: the breaker halts (risk's audit watch).
  "integrity_broken",
  // The oldest unanchored entry is past ANCHOR_OVERDUE_SECONDS: the hourly anchor is missing (breaker CAUTION).
  "anchor_overdue",
  // No complete full verification for FULL_VERIFICATION_OVERDUE_SECONDS (it runs daily).
  "full_verification_overdue",
  // Anchors cannot be signed or their signatures checked: AUDIT_SIGNING_KEY is missing or malformed.
  "anchor_signing_unavailable",
  // The R2 mirror's latest attempt failed (it is retried); anchors wait for it.
  "r2_mirror_failing",
]);
/** A condition the audit status raises. */
export type AuditAlertCode = v.InferOutput<typeof AuditAlertCode>;

/** One raised condition: `critical` stops trading, `warning` needs a person soon. */
export interface AuditAlert {
  code: AuditAlertCode;
  severity: "critical" | "warning";
  message: string;
  /** When the condition began, if known (ISO-8601). */
  since: string | null;
}

/** The oldest unanchored entry may be this old before `anchor_overdue` (the cron anchors hourly). */
export const ANCHOR_OVERDUE_SECONDS = 90 * 60;
/** A complete full verification older than this raises `full_verification_overdue` (it runs daily). */
export const FULL_VERIFICATION_OVERDUE_SECONDS = 26 * 3600;

/** A receipt as a caller kept it: `{ seq, hash }` from `append`. */
export const AuditReceiptInput = v.strictObject({
  seq: v.pipe(v.number(), v.safeInteger(), v.minValue(1)),
  hash: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, "must be a lowercase hex SHA-256")),
});

/** Most receipts one check may carry. */
export const MAX_RECEIPTS_PER_CHECK = 500;

/** Receipts to check against the chain. */
export const AuditReceiptList = v.pipe(
  v.array(AuditReceiptInput),
  v.minLength(1),
  v.maxLength(MAX_RECEIPTS_PER_CHECK),
);

/** A receipt the chain no longer holds. */
export interface AuditReceiptBreak {
  seq: number;
  hash: string;
  reason: "above_head" | "hash_differs" | "entry_unreadable";
  detail: string;
}

/** Whether the chain still holds each receipt; any break marks integrity broken. */
export interface AuditReceiptCheck {
  ok: boolean;
  headSeq: number;
  checked: number;
  held: number;
  broken: AuditReceiptBreak[];
  checkedAt: string;
}

/** RPC surface of the `audit` worker. */
export interface AuditRpc {
  health(): Promise<HealthReport>;
  /** Append one event; with `options.idempotencyKey`, at most once per key (see AuditAppendOptions). */
  append(event: AuditAppendInput, options?: AuditAppendOptions): Promise<Result<AuditReceipt>>;
  appendMany(events: AuditAppendInput[]): Promise<Result<AuditReceipt[]>>;
  status(): Promise<Result<AuditStatus>>;
  verify(options: AuditVerifyOptions): Promise<Result<AuditVerification>>;
  /** Anchor now (after a critical event); idempotent when nothing new was appended. */
  anchorNow(actor: Principal): Promise<Result<AuditAnchor | null>>;
  /** NDJSON of every entry then every anchor, as `{ "kind": "entry" | "anchor", ... }` lines. */
  exportNdjson(): Promise<ReadableStream<Uint8Array>>;
  /**
   * Whether the chain still holds each receipt (entry `seq` has hash `hash`). A receipt above the head or with
   * another hash is a break: integrity becomes broken (the audit watch then halts the breaker).
   */
  checkReceipts(receipts: AuditReceipt[], actor: Principal): Promise<Result<AuditReceiptCheck>>;
}
