import { WorkerEntrypoint } from "cloudflare:workers";
import {
  exportAnchorLine,
  exportBatchLine,
  exportEndLine,
  exportEntryLine,
  exportHeaderLine,
} from "@paulp/audit-chain";
import {
  type AuditAnchor,
  AuditAppendOptions,
  type AuditReceipt,
  type AuditReceiptCheck,
  AuditReceiptList,
  type AuditRpc,
  type AuditStatus,
  type AuditVerification,
  AuditVerifyOptions,
  ErrorCode,
  err,
  type HealthReport,
  ok,
  Principal,
  type Result,
} from "@paulp/contracts";
import { checkD1, checkR2, parseInput, rpc, runHealthChecks, serve } from "@paulp/kit";
import { cronSlot, listAnchors } from "./anchors";
import type { Env } from "./env";
import { validateEvent, validateEvents } from "./events";
import { FULL_VERIFICATION_CRON, MAX_STEPS_PER_CALL } from "./schedules";

export { AuditSequencer } from "./sequencer";

/** Entries per page when streaming an export out of the sequencer. */
const EXPORT_PAGE = 2_000;

/** A call into the sequencer that throws (reset, overloaded) answers `audit_unavailable`. */
const SEQUENCER = { what: "audit sequencer", code: ErrorCode.auditUnavailable } as const;

/** The audit worker: thin RPC over the sequencer Durable Object, plus the hourly anchor. */
export class AuditEntrypoint extends WorkerEntrypoint<Env> implements AuditRpc {
  private sequencer() {
    return this.env.AUDIT_SEQUENCER.get(this.env.AUDIT_SEQUENCER.idFromName("chain"));
  }

  async health(): Promise<HealthReport> {
    return runHealthChecks("audit", {
      d1_anchor: () => checkD1(this.env.D1_ANCHOR),
      r2_audit: () => checkR2(this.env.R2_AUDIT),
      sequencer: async () => {
        const pong = await this.sequencer().ping();
        if (pong.includes("unreadable")) throw new Error(pong);
        return pong;
      },
    });
  }

  async append(event: unknown, options?: unknown): Promise<Result<AuditReceipt>> {
    const valid = validateEvent(event);
    if (!valid.ok) return valid;
    const opts = parseInput(AuditAppendOptions, options ?? {});
    if (!opts.ok) return opts;
    const key = opts.value.idempotencyKey;
    const result = await this.call(() => this.sequencer().append([valid.value], Date.now(), key));
    return result.ok ? ok(result.value[0]!) : result;
  }

  async appendMany(events: unknown): Promise<Result<AuditReceipt[]>> {
    const valid = validateEvents(events);
    if (!valid.ok) return valid;
    return this.call(() => this.sequencer().append(valid.value, Date.now()));
  }

  async status(): Promise<Result<AuditStatus>> {
    return this.call(() => this.sequencer().status(Date.now()));
  }

  async verify(options: unknown): Promise<Result<AuditVerification>> {
    const valid = parseInput(AuditVerifyOptions, options);
    if (!valid.ok) return valid;
    if (valid.value.mode === "full" && valid.value.untilComplete) return this.fullVerification();
    return this.call(() => this.sequencer().verify(valid.value.mode, Date.now()));
  }

  /** A full verification taken step after step until it reaches the head or a break (the daily cron's work). */
  private async fullVerification(): Promise<Result<AuditVerification>> {
    let last: Result<AuditVerification> = err(ErrorCode.internal, "no step taken");
    for (let step = 0; step < MAX_STEPS_PER_CALL; step++) {
      last = await this.call(() => this.sequencer().verify("full", Date.now()));
      if (!last.ok || !last.value.ok || last.value.complete !== false) return last;
    }
    return last;
  }

  async checkReceipts(receipts: unknown, actor: unknown): Promise<Result<AuditReceiptCheck>> {
    return serve(SEQUENCER, [AuditReceiptList, Principal], [receipts, actor], (list) =>
      this.sequencer().checkReceipts(list, Date.now()),
    );
  }

  async anchorNow(actor: unknown): Promise<Result<AuditAnchor | null>> {
    return serve(SEQUENCER, [Principal], [actor], () => this.sequencer().anchor({ nowMs: Date.now() }));
  }

  /** NDJSON: a header line, every entry, every mirror batch, every anchor; one snapshot at the current head. */
  async exportNdjson(): Promise<ReadableStream<Uint8Array>> {
    const sequencer = this.sequencer();
    const db = this.env.D1_ANCHOR;
    const encoder = new TextEncoder();
    // Anchors first, then the head: every anchor that existed when the head was read has toSeq <= head unless
    // the chain was truncated, so all of them are exported and the offline verifier can see a truncation.
    const anchors = await listAnchors(db);
    const head = await sequencer.exportHead();
    let after = 0;
    let phase: "header" | "entries" | "tail" | "done" = "header";
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          if (phase === "header") {
            controller.enqueue(encoder.encode(`${exportHeaderLine()}\n`));
            phase = "entries";
            return;
          }
          if (phase === "entries") {
            const rows = await sequencer.exportPage(after, head.seq, EXPORT_PAGE);
            if (rows.length > 0) {
              after = rows.at(-1)!.seq;
              controller.enqueue(encoder.encode(rows.map((r) => `${exportLine(r.body)}\n`).join("")));
              return;
            }
            phase = "tail";
          }
          if (phase === "tail") {
            const batches = await sequencer.exportBatches(head.seq);
            const lines = [
              ...batches.map(exportBatchLine),
              ...anchors.map(exportAnchorLine),
              // Last: what the export holds, so a file cut off anywhere is refused by the verifier.
              exportEndLine({
                entries: head.seq,
                headSeq: head.seq,
                headHash: head.hash,
                batches: batches.length,
                anchors: anchors.length,
              }),
            ];
            controller.enqueue(encoder.encode(`${lines.join("\n")}\n`));
            phase = "done";
          }
          controller.close();
        } catch (error) {
          // A cut-off export must not look complete: error the stream so the reader sees the failure.
          controller.error(error);
        }
      },
    });
  }

  /**
   * Hourly anchor (ANCHOR_CRON; a second firing of the same hour anchors nothing) and the daily full
   * verification (FULL_VERIFICATION_CRON), which finds edits below the last verified anchor that the 5-minute
   * incremental watch cannot: a break sets integrity broken, and risk's next watch halts the breaker.
   */
  override async scheduled(controller: ScheduledController): Promise<void> {
    if (controller.cron === FULL_VERIFICATION_CRON) {
      const result = await this.fullVerification();
      if (!result.ok)
        console.error(`scheduled full verification failed: ${result.error.code}: ${result.error.message}`);
      else if (!result.value.ok)
        console.error(
          `scheduled full verification: chain broken at seq ${result.value.brokenSeq}: ${result.value.reason}`,
        );
      return;
    }
    const result = await this.call<AuditAnchor | null>(() =>
      this.sequencer().anchor({ nowMs: Date.now(), cronSlot: cronSlot(controller.scheduledTime) }),
    );
    if (!result.ok) console.error(`scheduled anchor failed: ${result.error.code}: ${result.error.message}`);
  }

  /** Run a sequencer call, turning a thrown error (object reset, overload) into a failed result. */
  /** The sequencer's answer; a throw (a Durable Object reset) is `audit_unavailable`: audit is fail-closed. */
  private call<T>(fn: () => Promise<Result<T>>): Promise<Result<T>> {
    return rpc(fn, SEQUENCER);
  }
}

/** A stored entry line as an export line; a stored line that is not JSON is exported as-is (the verifier flags it). */
function exportLine(body: string): string {
  try {
    return exportEntryLine(body);
  } catch {
    return body;
  }
}

export default AuditEntrypoint;
