import { batchBytes, batchKey, sha256Hex } from "@paulp/audit-chain";
import type { AuditMirrorBatch } from "@paulp/contracts";
import type { ChainStore } from "./chain-store";

/** Most bytes (of entry lines) in one R2 object. */
export const MIRROR_BATCH_MAX_BYTES = 8 * 1024 * 1024;
/** Most entries in one R2 object. */
export const MIRROR_BATCH_MAX = 1_000;
/** Appends are mirrored in batches: the alarm fires this long after the first unmirrored append. */
export const MIRROR_DELAY_MS = 1_000;
/** Retry backoff of a failing mirror, capped. */
const MIRROR_RETRY_MAX_MS = 60_000;

/** How far the mirror got, and why it stopped short when it did. */
export interface MirrorProgress {
  mirroredTo: number;
  error: string | null;
}

/**
 * The chain's copy in R2: entries are written in create-only batch objects (at most MIRROR_BATCH_MAX entries and
 * MIRROR_BATCH_MAX_BYTES each), and each batch is recorded in the store once R2 holds it. One run at a time.
 */
export class ChainMirror {
  /** The last seq R2 holds. */
  mirroredTo: number;
  /** Why the last run stopped short (null when it reached its target). */
  error: string | null = null;
  private failures = 0;
  private run: Promise<void> | null = null;

  constructor(private readonly store: ChainStore) {
    this.mirroredTo = store.mirroredTo();
  }

  /** Copy every entry up to `target` to R2; a call during a run waits for that run (and its target). */
  async flush(r2: R2Bucket, target: number): Promise<MirrorProgress> {
    this.run ??= this.copyUpTo(r2, target).finally(() => {
      this.run = null;
    });
    await this.run;
    return { mirroredTo: this.mirroredTo, error: this.error };
  }

  /** When the next run should start: MIRROR_DELAY_MS, or a backoff (capped) while R2 keeps failing. */
  retryDelayMs(): number {
    return this.error
      ? Math.min(MIRROR_RETRY_MAX_MS, 1_000 * 2 ** Math.min(this.failures, 6))
      : MIRROR_DELAY_MS;
  }

  private async copyUpTo(r2: R2Bucket, target: number): Promise<void> {
    try {
      while (this.mirroredTo < target) {
        const from = this.mirroredTo + 1;
        const upTo = Math.min(target, from + MIRROR_BATCH_MAX - 1);
        // At most MIRROR_BATCH_MAX entries and MIRROR_BATCH_MAX_BYTES (one entry can be ~66 KB): a batch, and
        // verification and export of it, stay far inside an isolate's memory whatever the payloads.
        const lines: string[] = [];
        let size = 0;
        let full = false;
        for (const r of this.store.entriesBetween(from, upTo)) {
          if (r.seq !== from + lines.length) throw new Error(`entry ${from + lines.length} is not present`);
          if (lines.length > 0 && size + r.body.length + 1 > MIRROR_BATCH_MAX_BYTES) {
            full = true;
            break;
          }
          lines.push(r.body);
          size += r.body.length + 1;
        }
        // Short only because the byte budget was reached; otherwise every entry up to `upTo` must be there.
        if (lines.length === 0 || (!full && lines.length !== upTo - from + 1))
          throw new Error(`entries ${from}..${upTo} are not all present`);
        const to = from + lines.length - 1;
        const bytes = batchBytes(lines);
        const batch: AuditMirrorBatch = {
          key: batchKey(from, to),
          fromSeq: from,
          toSeq: to,
          sha256: sha256Hex(bytes),
        };
        // Create-only: an existing object is never overwritten; R2 checks the upload against its SHA-256.
        const put = await r2.put(batch.key, bytes, {
          sha256: batch.sha256,
          onlyIf: { etagDoesNotMatch: "*" },
          customMetadata: { fromSeq: String(from), toSeq: String(to) },
        });
        if (put === null) {
          // A previous attempt may have written it before this object was evicted: accept only identical bytes.
          const existing = await r2.get(batch.key);
          const existingBytes = existing ? new Uint8Array(await existing.arrayBuffer()) : null;
          if (!existingBytes || sha256Hex(existingBytes) !== batch.sha256) {
            throw new Error(`R2 object ${batch.key} already exists with different content`);
          }
        }
        this.store.insertBatch(batch);
        this.mirroredTo = to;
      }
      this.error = null;
      this.failures = 0;
    } catch (error) {
      this.error = (error as Error).message || "R2 mirror failed";
      this.failures++;
    }
  }
}
