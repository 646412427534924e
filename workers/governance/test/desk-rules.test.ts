import {
  APPROVAL_STEPS,
  APPROVAL_TRANSITIONS,
  type ApprovalStatus,
  ApprovalStatus as ApprovalStatusSchema,
  approvalTransitionRefusal,
  type Principal,
  approvalStepAllowed as stepAllowed,
} from "@paulp/contracts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkOpen,
  type DeskStepName,
  decideApprove,
  decideCancel,
  decideReject,
  expiryDue,
  openRequest,
  type RequestRecord,
} from "../src/desk";
import { decideRedeem, decideReissue, decideReturn } from "../src/desk-receipts";
import { canonicalEmail, personKey, samePerson } from "../src/identity";
import { checkRoster, configuredRoster, eligibleApprovers, onRoster } from "../src/roster";

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
  { method: "access", subject: "sub-b-plus", email: "B+tag@example.com" }, // b's mailbox, another subject
  { method: "access", subject: "sub-req-plus", email: "req+x@example.com" }, // the requester's mailbox
  { method: "access", subject: "sub-d", email: "d@example.com" }, // a real person, off the roster
];
// Distinct real people other than the requester who may approve, by index into `pool`.
const personOf = [null, null, "a", "a", "b", "c", null, null, "b", null, null];
// The roster lists every address above but d's (b+tag is listed too: two addresses of one person).
const roster = [
  "req@example.com",
  "a@example.com",
  "a-alias@example.com",
  "b@example.com",
  "c@example.com",
  "b+tag@example.com",
];

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
          const d = decideApprove(record, pool[who]!, T0 + i, WINDOW, `${i}`.padStart(64, "0"), roster);
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
        const d = decideApprove(record, pool[2]!, T0 + offset, WINDOW, "f".repeat(64), roster);
        expect(d.ok).toBe(offset < TTL);
      }),
    );
    const a = decideApprove(fresh(), pool[2]!, T0, WINDOW, "f".repeat(64), roster);
    if (!a.ok) throw new Error();
    const b = decideApprove(a.step.next, pool[4]!, T0 + 1, WINDOW, "e".repeat(64), roster);
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
      expect(decideApprove(rejected.step.next, who, T0 + 1, WINDOW, "f".repeat(64), roster).ok).toBe(false);
    expect(expiryDue(rejected.step.next, T0 + 10 * TTL)).toBe(null);
  });
});

describe("the request lifecycle table", () => {
  it("matches the table written out independently: rejected, expired and cancelled are final", () => {
    const steps: DeskStepName[] = ["approve", "reject", "cancel", "expire", "reissue", "redeem", "return"];
    const allowed: Record<string, DeskStepName[]> = {
      pending: ["approve", "reject", "cancel", "expire"],
      approved: ["reject", "cancel", "expire", "reissue", "redeem"],
      executed: ["return"],
      rejected: [],
      expired: [],
      cancelled: [],
    };
    for (const status of Object.keys(APPROVAL_TRANSITIONS) as (keyof typeof APPROVAL_TRANSITIONS)[])
      for (const step of steps)
        expect(stepAllowed(status, step), `${status} ${step}`).toBe(allowed[status]!.includes(step));
  });

  it("allows exactly the (from, step, to) triples written out independently, and refuses every other one", () => {
    const legal = new Set([
      "pending approve pending",
      "pending approve approved",
      "pending reject rejected",
      "pending cancel cancelled",
      "pending expire expired",
      "approved reject rejected",
      "approved cancel cancelled",
      "approved expire expired",
      "approved reissue approved",
      "approved redeem executed",
      "executed return approved",
    ]);
    const statuses = ApprovalStatusSchema.options;
    let checked = 0;
    for (const from of statuses)
      for (const step of APPROVAL_STEPS)
        for (const to of statuses) {
          const refusal = approvalTransitionRefusal(from, step, to);
          if (legal.has(`${from} ${step} ${to}`)) expect(refusal, `${from} ${step} ${to}`).toBe(null);
          else expect(refusal, `${from} ${step} ${to}`).toMatch(new RegExp(`^request is ${from}:`));
          checked++;
        }
    expect(checked).toBe(6 * 7 * 6);
  });

  it("every step the table does not list from a status is refused by the desk, and nothing changes", () => {
    // A record in each status, reached through the rules themselves where a path exists.
    const hash = "f".repeat(64);
    const tokenHash = "e".repeat(64);
    const base = fresh();
    const withStatus = (status: ApprovalStatus): RequestRecord => ({
      ...base,
      status,
      approvals: status === "pending" ? [] : base.approvals,
      approvedAt: status === "pending" ? null : T0,
      executeBy: status === "pending" ? null : T0 + WINDOW,
      receiptTokenHash: status === "approved" ? tokenHash : null,
      redeemedTokenHash: status === "executed" ? tokenHash : null,
    });
    const claim = { tokenHash, action: base.action, payloadHash: base.payloadHash, actor: pool[6]! };
    const steps = {
      approve: (r: RequestRecord) => decideApprove(r, pool[2]!, T0 + 1, WINDOW, hash, roster),
      reject: (r: RequestRecord) => decideReject(r, pool[2]!, "no", T0 + 1),
      cancel: (r: RequestRecord) => decideCancel(r, pool[6]!, "moved", T0 + 1),
      reissue: (r: RequestRecord) => decideReissue(r, pool[2]!, T0 + 1, hash),
      redeem: (r: RequestRecord) => decideRedeem(r, claim, T0 + 1),
      return: (r: RequestRecord) =>
        decideReturn(r, { tokenHash, reason: "apply failed", actor: pool[6]! }, T0 + 1),
    } as const;
    let refused = 0;
    for (const status of ApprovalStatusSchema.options) {
      const record = withStatus(status);
      const before = structuredClone(record);
      for (const [step, decide] of Object.entries(steps)) {
        if (stepAllowed(status, step as keyof typeof steps)) continue;
        const decision = decide(record);
        expect(decision.ok, `${status} ${step}`).toBe(false);
        if (!decision.ok) expect(decision.error.message, `${status} ${step}`).toMatch(status);
        refused++;
      }
      // Expiry is due only from the statuses that may expire.
      const late = expiryDue(record, T0 + 100 * TTL);
      if (stepAllowed(status, "expire")) expect(late?.next.status).toBe("expired");
      else expect(late, status).toBe(null);
      expect(record).toEqual(before);
    }
    expect(refused).toBe(6 * 6 - 3 - 4 - 1); // 36 pairs less the 8 the table lists (expire is checked apart)
  });

  it("a cancel ends a pending or approved request, by any principal, and nothing can approve it after", () => {
    const cancelled = decideCancel(fresh(), pool[6]!, "strategy moved to paused", T0);
    if (!cancelled.ok) throw new Error();
    expect(cancelled.step.next).toMatchObject({
      status: "cancelled",
      cancellation: { by: "token:admin-token", reason: "strategy moved to paused" },
    });
    expect(cancelled.step.event.type).toBe("governance.approval_cancelled");
    for (const who of pool)
      expect(decideApprove(cancelled.step.next, who, T0 + 1, WINDOW, "f".repeat(64), roster).ok).toBe(false);
    expect(decideCancel(cancelled.step.next, pool[6]!, "again", T0 + 1).ok).toBe(false);
    expect(expiryDue(cancelled.step.next, T0 + 10 * TTL)).toBe(null);
  });
});

describe("who a person is", () => {
  it("folds case, Unicode compatibility forms, invisible characters and a trailing dot", () => {
    expect(canonicalEmail(" Bob@Example.COM. ")).toBe("bob@example.com");
    expect(canonicalEmail("\uFF42\uFF4F\uFF42@example.com")).toBe("bob@example.com"); // fullwidth
    expect(canonicalEmail("\u017Fam@example.com")).toBe("sam@example.com"); // long s
    expect(canonicalEmail("\u212Aim@example.com")).toBe("kim@example.com"); // Kelvin sign
    expect(canonicalEmail("bo\u200Bb@example.com")).toBe("bob@example.com"); // zero-width space
    expect(canonicalEmail("stra\u00DFe@example.com")).toBe("strasse@example.com");
  });

  it("one mailbox is one person: plus tags everywhere, dots only at Gmail", () => {
    expect(personKey("Bob+ops@Example.com")).toBe("bob@example.com");
    expect(personKey("bob+a+b@example.com")).toBe("bob@example.com");
    expect(personKey("B.o.b+x@googlemail.com")).toBe(personKey("bob@gmail.com"));
    // Elsewhere a dot or a hyphen can separate two people's names: kept.
    expect(personKey("j.smith@example.com")).not.toBe(personKey("jsmith@example.com"));
    expect(personKey("anne-marie@example.com")).not.toBe(personKey("anne@example.com"));
  });

  it("same person when the subject or the mailbox matches (property: aliases never make two people)", () => {
    const tags = fc.stringMatching(/^[a-z0-9]{0,6}$/);
    fc.assert(
      fc.property(tags, tags, fc.boolean(), (t1, t2, upper) => {
        const a = { subject: "s1", email: `bob${t1 ? `+${t1}` : ""}@example.com` };
        const b = { subject: "s2", email: `${upper ? "BOB" : "bob"}${t2 ? `+${t2}` : ""}@EXAMPLE.com` };
        expect(samePerson(a, b)).toBe(true);
      }),
    );
    expect(
      samePerson({ subject: "s1", email: "x@example.com" }, { subject: "s1", email: "y@example.com" }),
    ).toBe(true);
    expect(
      samePerson({ subject: "s1", email: "bob@example.com" }, { subject: "s2", email: "rob@example.com" }),
    ).toBe(false);
  });
});

describe("approver rosters", () => {
  it("membership is exact on the canonical address: an alias of a listed address is not listed", () => {
    const listed = ["bob@example.com", "carol@example.com"];
    expect(onRoster(listed, { subject: "x", email: "BOB@Example.com" })).toBe(true);
    expect(onRoster(listed, { subject: "x", email: "bob+x@example.com" })).toBe(false);
    expect(onRoster(listed, { subject: "x", email: "mallory@example.com" })).toBe(false);
  });

  it("a roster names at least two different people; it is stored canonical, sorted, each once", () => {
    expect(checkRoster(["Carol@Example.com", "bob@example.com", "bob@example.com"])).toEqual({
      ok: true,
      approvers: ["bob@example.com", "carol@example.com"],
    });
    const one = checkRoster(["bob@example.com", "bob+x@example.com", "BOB@example.com"]);
    expect(!one.ok && one.message).toMatch(/at least 2 different people \(it names 1\)/);
  });

  it("the first roster comes from config; missing, empty or malformed config fails closed", () => {
    const people = ["a@example.com", "b@example.com"];
    expect(configuredRoster({ "*": people }, "strategy.go_live")).toEqual({ ok: true, approvers: people });
    expect(configuredRoster(JSON.stringify({ "*": people }), "risk.limits_increase").ok).toBe(true);
    // An action's own list wins over `*`.
    const own = configuredRoster(
      { "*": people, "risk.limits_increase": ["c@example.com", "d@example.com"] },
      "risk.limits_increase",
    );
    expect(own.ok && own.approvers).toEqual(["c@example.com", "d@example.com"]);
    for (const raw of [
      undefined,
      "",
      "{",
      {},
      { "*": [] },
      { "*": ["a@example.com"] },
      { "*": ["not an email"] },
      { "delete.all": people },
    ])
      expect(configuredRoster(raw, "strategy.go_live").ok, JSON.stringify(raw)).toBe(false);
  });

  it("a request opens only when two people other than the requester could approve it", () => {
    const requester = { subject: "s", email: "a@example.com" };
    expect(eligibleApprovers(["a@example.com", "a+x@example.com", "b@example.com"], requester)).toBe(1);
    expect(checkOpen(["a@example.com", "b@example.com"], requester, "strategy.go_live")?.code).toBe(
      "conflict",
    );
    expect(
      checkOpen(["a@example.com", "b@example.com", "c@example.com"], requester, "strategy.go_live"),
    ).toBe(null);
  });
});
