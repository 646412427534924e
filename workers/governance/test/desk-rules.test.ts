import type { Principal } from "@paulp/contracts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decideApprove,
  decideRedeem,
  decideReject,
  decideReturn,
  expiryDue,
  openRequest,
  type RequestRecord,
} from "../src/desk";

// The desk's rules as pure functions, driven by random sequences of actors.
const requester: Principal = { method: "access", subject: "sub-req", email: "req@example.com" };
const pool: Principal[] = [
  requester,
  { method: "access", subject: "sub-req-2", email: "REQ@example.com" }, // the requester under another subject
  { method: "access", subject: "sub-a", email: "a@example.com" },
  { method: "access", subject: "sub-a", email: "a-alias@example.com" }, // a under another email
  { method: "access", subject: "sub-b", email: "b@example.com" },
  { method: "access", subject: "sub-c", email: "c@example.com" },
  { method: "token", subject: "admin-token" },
  { method: "system", subject: "cron:x" },
];
// Distinct real people other than the requester, by index into `pool`.
const personOf = [null, null, "a", "a", "b", "c", null, null];

const T0 = 1_000_000;
const TTL = 60_000;
const WINDOW = 10_000;

function fresh(): RequestRecord {
  return openRequest({
    requestId: "r1",
    action: "risk.limits_increase",
    payload: { x: 1 },
    payloadHash: "a".repeat(64),
    requester: { subject: "sub-req", email: "req@example.com" },
    now: T0,
    ttlMs: TTL,
  }).next;
}

describe("desk rules (property)", () => {
  it("approved exactly when two distinct non-requester people approved; one receipt; never by token", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: pool.length - 1 }), { maxLength: 12 }), (sequence) => {
        let record = fresh();
        let receipts = 0;
        const counted = new Set<string>();
        for (const [i, who] of sequence.entries()) {
          const d = decideApprove(record, pool[who]!, T0 + i, WINDOW, `${i}`.padStart(64, "0"));
          const person = personOf[who];
          if (d.ok) {
            expect(person).not.toBeNull();
            expect(counted.has(person!)).toBe(false);
            counted.add(person!);
            record = d.step.next;
            if (d.receiptIssued) receipts++;
          }
        }
        expect(record.status === "approved").toBe(counted.size >= 2);
        expect(receipts).toBe(counted.size >= 2 ? 1 : 0);
        expect(record.approvals.length).toBe(Math.min(counted.size, 2));
      }),
    );
  });

  it("no approval counts at or after the TTL; no redemption at or after the execute window", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 * TTL }), (offset) => {
        const record = fresh();
        const d = decideApprove(record, pool[2]!, T0 + offset, WINDOW, "f".repeat(64));
        expect(d.ok).toBe(offset < TTL);
      }),
    );
    const a = decideApprove(fresh(), pool[2]!, T0, WINDOW, "f".repeat(64));
    if (!a.ok) throw new Error();
    const b = decideApprove(a.step.next, pool[4]!, T0 + 1, WINDOW, "e".repeat(64));
    if (!b.ok) throw new Error();
    const approved = b.step.next;
    const claim = {
      tokenHash: "e".repeat(64),
      action: "risk.limits_increase" as const,
      payloadHash: "a".repeat(64),
      actor: pool[4]!,
    };
    expect(decideRedeem(approved, claim, T0 + 1 + WINDOW - 1).ok).toBe(true);
    const late = decideRedeem(approved, claim, T0 + 1 + WINDOW);
    expect(late.ok).toBe(false);
    expect(!late.ok && late.expired?.next.expiredReason).toBe("execute_window");
    // The first approver's candidate token was discarded: only the threshold approval's token redeems.
    expect(decideRedeem(approved, { ...claim, tokenHash: "f".repeat(64) }, T0 + 2).ok).toBe(false);
    // Given back: only with the token that executed it, strictly inside the window, and not for a record
    // executed before returns existed (no redeemed token kept).
    const redeemed = decideRedeem(approved, claim, T0 + 2);
    if (!redeemed.ok) throw new Error();
    const executed = redeemed.step.next;
    const give = { tokenHash: "e".repeat(64), reason: "audit down", actor: pool[7]! };
    const back = decideReturn(executed, give, T0 + 1 + WINDOW - 1);
    expect(back.ok && back.step.next).toMatchObject({
      status: "approved",
      receiptTokenHash: null,
      executedAt: null,
    });
    expect(decideReturn(executed, give, T0 + 1 + WINDOW).ok).toBe(false);
    expect(decideReturn(executed, { ...give, tokenHash: "f".repeat(64) }, T0 + 3).ok).toBe(false);
    const legacy = decideReturn({ ...executed, redeemedTokenHash: undefined }, give, T0 + 3);
    expect(!legacy.ok && legacy.error.message).toMatch(/redeemed before receipts could be returned/);
  });

  it("a rejection is final", () => {
    const rejected = decideReject(fresh(), pool[2]!, "no", T0);
    if (!rejected.ok) throw new Error();
    for (const who of pool)
      expect(decideApprove(rejected.step.next, who, T0 + 1, WINDOW, "f".repeat(64)).ok).toBe(false);
    expect(expiryDue(rejected.step.next, T0 + 10 * TTL)).toBe(null);
  });
});
