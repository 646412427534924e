import * as v from "valibot";
import {
  type HealthReport,
  type JsonValue,
  Principal,
  type Result,
  ServiceName,
  withinJsonDepth,
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
  payload: v.pipe(
    v.custom<JsonValue>((value) => value !== undefined, "payload is required"),
    withinJsonDepth(),
  ),
});
/** An event to append to the audit chain. */
export type AuditEventInput = v.InferOutput<typeof AuditEventInput>;

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
}

/** RPC surface of the `audit` worker. */
export interface AuditRpc {
  health(): Promise<HealthReport>;
  append(event: AuditEventInput): Promise<Result<AuditReceipt>>;
  appendMany(events: AuditEventInput[]): Promise<Result<AuditReceipt[]>>;
  status(): Promise<Result<AuditStatus>>;
  verify(options: AuditVerifyOptions): Promise<Result<AuditVerification>>;
  /** Anchor now (after a critical event); idempotent when nothing new was appended. */
  anchorNow(actor: Principal): Promise<Result<AuditAnchor | null>>;
  /** NDJSON of every entry then every anchor, as `{ "kind": "entry" | "anchor", ... }` lines. */
  exportNdjson(): Promise<ReadableStream<Uint8Array>>;
}
