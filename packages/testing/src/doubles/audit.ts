// The audit chain's double: records what is appended and answers receipts by seq; every fail-closed path a caller
// has is reachable from `_set` (fail every append or some types, answer slowly, report an integrity, throw).
import type {
  AuditAnchor,
  AuditAppendInput,
  AuditReceipt,
  AuditReceiptCheck,
  AuditRpc,
  AuditStatus,
  AuditVerification,
  AuditVerifyOptions,
  Principal,
  Result,
} from "@paulp/contracts";
import { delay, doubleOf, err, hashOfSeq, Ledger, ok } from "./ledger";

/** An appended event as a test reads it. */
export type RecordedEvent = AuditAppendInput & { payload: Record<string, unknown> };

/** `throw`: the call rejects (audit not answering at all). */
type Planted<T> = Result<T> | "throw";

export interface AuditDoubleState {
  events: AuditAppendInput[];
  /** Every append (and appendMany) answers `audit_unavailable`. */
  failing: boolean;
  /** Appends of these types answer `audit_unavailable` (a batch holding one fails whole, like the chain). */
  failingTypes: string[];
  /** Every append waits this long first (a slow chain, to widen a race window). */
  delayMs: number;
  /** What `status` reports; `unreachable`: status answers `service_unavailable`. */
  integrity: "ok" | "broken" | "unknown" | "unreachable";
  /** When set, `status` answers this instead (an ok answer's fields over the status the double computes). */
  status: Planted<Partial<AuditStatus>> | null;
  verification: Planted<AuditVerification>;
  /** When set, `checkReceipts` answers this instead of checking against the recorded events. */
  receiptCheck: Planted<AuditReceiptCheck> | null;
  /** What `anchorNow` answers (default: nothing new to anchor). */
  anchor: Planted<AuditAnchor | null>;
}

const fresh = (): AuditDoubleState => ({
  events: [],
  failing: false,
  failingTypes: [],
  delayMs: 0,
  integrity: "ok",
  status: null,
  verification: ok({
    mode: "incremental",
    ok: true,
    fromSeq: 0,
    toSeq: 0,
    checkedEntries: 0,
    checkedAnchors: 0,
    verifiedAt: "1970-01-01T00:00:00.000Z",
  }),
  receiptCheck: null,
  anchor: ok(null),
});
const ledger = new Ledger(fresh);

function answer<T>(planted: Planted<T>): Result<T> {
  if (planted === "throw") throw new Error("audit down");
  return planted;
}

type Doubled = Omit<AuditRpc, "exportNdjson">;

export default class AuditDouble extends doubleOf("audit", ledger) implements Doubled {
  async append(event: AuditAppendInput): Promise<Result<AuditReceipt>> {
    const r = await this.appendMany([event]);
    return r.ok ? ok(r.value[0] as AuditReceipt) : r;
  }
  /**
   * All or none, like the real chain: one failing type fails the batch. Holdable: `_hold("append")` keeps every
   * append waiting (recorded as an `appending` call) until `_release()`.
   */
  async appendMany(events: AuditAppendInput[]): Promise<Result<AuditReceipt[]>> {
    const s = ledger.state;
    ledger.record("appending", { types: events.map((e) => e.type) });
    await ledger.gate("append");
    if (s.delayMs > 0) await delay(s.delayMs);
    if (s.failing || events.some((e) => s.failingTypes.includes(e.type)))
      return err("audit_unavailable", "audit double told to fail");
    return ok(
      events.map((event) => {
        s.events.push(event);
        return { seq: s.events.length, hash: hashOfSeq(s.events.length) };
      }),
    );
  }
  async status(): Promise<Result<AuditStatus>> {
    const s = ledger.state;
    const planted = s.status ? answer(s.status) : null;
    if (planted && !planted.ok) return planted;
    if (!planted && s.integrity === "unreachable") return err("service_unavailable", "D1_ANCHOR unavailable");
    const head = s.events.length;
    return ok({
      headSeq: head,
      headHash: hashOfSeq(head),
      entryCount: head,
      lastAnchor: null,
      lastAnchorAgeSeconds: null,
      unanchoredEntries: head,
      r2MirrorLag: 0,
      r2MirrorError: null,
      lastVerification: null,
      integrity: s.integrity === "unreachable" ? "unknown" : s.integrity,
      lastFullVerification: null,
      lastFullVerificationAgeSeconds: null,
      oldestUnanchoredAgeSeconds: null,
      anchorVerifierKey: null,
      alerts: [],
      ...planted?.value,
    });
  }
  async verify(options: AuditVerifyOptions): Promise<Result<AuditVerification>> {
    ledger.record("verify", { options });
    return answer(ledger.state.verification);
  }
  async anchorNow(actor: Principal): Promise<Result<AuditAnchor | null>> {
    ledger.record("anchorNow", { actor });
    return answer(ledger.state.anchor);
  }
  /** Answers from the recorded events: a receipt above them, or with another hash, is lost. */
  async checkReceipts(receipts: AuditReceipt[], actor: Principal): Promise<Result<AuditReceiptCheck>> {
    ledger.record("checkReceipts", { receipts, actor });
    const s = ledger.state;
    if (s.receiptCheck) return answer(s.receiptCheck);
    const head = s.events.length;
    const broken = receipts
      .filter((r) => r.seq > head || r.hash !== hashOfSeq(r.seq))
      .map((r) => ({
        seq: r.seq,
        hash: r.hash,
        reason: r.seq > head ? ("above_head" as const) : ("hash_differs" as const),
        detail: `entry ${r.seq} lost`,
      }));
    return ok({
      ok: broken.length === 0,
      headSeq: head,
      checked: receipts.length,
      held: receipts.length - broken.length,
      broken,
      checkedAt: new Date().toISOString(),
    });
  }

  // ---- test controls beyond the shared ones ----
  /** What was appended (in order); payloads are objects (every event type's is). */
  async _events(): Promise<RecordedEvent[]> {
    return ledger.state.events as RecordedEvent[];
  }
  /** The chain loses every entry after the first `n` (a truncation or a restored sequencer). */
  async _truncate(n: number): Promise<void> {
    ledger.state.events = ledger.state.events.slice(0, n);
  }
}
