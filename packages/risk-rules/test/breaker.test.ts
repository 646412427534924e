import { type BreakerState, FailureKind, type Principal } from "@paulp/contracts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  applyTransition,
  type BreakerRecord,
  checkTransition,
  countFailure,
  countSuccess,
  DEFAULT_THRESHOLDS,
  initialBreaker,
  parseThresholds,
  TRANSITIONS,
} from "../src/breaker";

const STATES: BreakerState[] = ["NORMAL", "CAUTION", "HALT", "RECOVERY"];
// Every kind the contract lists (a kind added there is exercised here without a second list to keep).
const KINDS: readonly FailureKind[] = FailureKind.options;
const operator: Principal = { method: "token", subject: "admin-token" };
const person: Principal = { method: "access", subject: "p1", email: "p1@example.com" };
const system: Principal = { method: "system", subject: "risk" };
const T0 = "2026-11-24T12:00:00.000Z";

function at(state: BreakerState, version = 3): BreakerRecord {
  return { ...initialBreaker(T0), state, version };
}

describe("the transition table", () => {
  // The expected table written out independently of TRANSITIONS, so a change to one fails here.
  const allowed: Record<string, string> = {
    "NORMAL>CAUTION": "any",
    "NORMAL>HALT": "any",
    "CAUTION>NORMAL": "operator",
    "CAUTION>HALT": "any",
    "HALT>HALT": "any",
    "HALT>RECOVERY": "operator",
    "RECOVERY>NORMAL": "approval",
    "RECOVERY>HALT": "any",
  };

  it("is exhaustive: every one of the 16 pairs is either in the table or refused naming the current state", () => {
    for (const from of STATES) {
      for (const to of STATES) {
        const rule = allowed[`${from}>${to}`];
        const v = { expectedVersion: 3 };
        const bySystem = checkTransition(at(from), to, system, { ...v, hasApproval: false });
        const byOperator = checkTransition(at(from), to, operator, { ...v, hasApproval: false });
        const approved = checkTransition(at(from), to, person, { ...v, hasApproval: true });
        if (!rule) {
          expect(TRANSITIONS[from][to]).toBeUndefined();
          for (const r of [bySystem, byOperator, approved]) {
            expect(r?.code).toBe("conflict");
            expect(r?.message).toContain(`current state ${from}`);
          }
        } else if (rule === "any") {
          expect([bySystem, byOperator, approved]).toEqual([null, null, null]);
        } else if (rule === "operator") {
          expect(bySystem?.code).toBe("forbidden");
          expect(byOperator).toBeNull();
        } else {
          expect(bySystem?.code).toBe("forbidden");
          expect(byOperator?.code).toBe("approval_required");
          expect(approved).toBeNull();
        }
      }
    }
  });

  it("every transition but HALT names its version: a missing or stale one loses naming the current state and version; HALT is always allowed", () => {
    expect(checkTransition(at("HALT", 7), "RECOVERY", operator, { hasApproval: false })).toEqual({
      code: "validation_failed",
      message: "expectedVersion: HALT → RECOVERY names the breaker version it acts on (current HALT v7)",
    });
    expect(checkTransition(at("CAUTION", 2), "NORMAL", operator, { hasApproval: false })?.code).toBe(
      "validation_failed",
    );
    expect(checkTransition(at("NORMAL", 2), "CAUTION", system, { hasApproval: false })?.code).toBe(
      "validation_failed",
    );
    expect(
      checkTransition(at("HALT", 7), "RECOVERY", operator, { expectedVersion: 6, hasApproval: false }),
    ).toEqual({ code: "conflict", message: "stale transition: expected version 6, current HALT v7" });
    expect(checkTransition(at("NORMAL", 7), "HALT", system, { hasApproval: false })).toBeNull();
    expect(
      checkTransition(at("HALT", 7), "RECOVERY", operator, { expectedVersion: 7, hasApproval: false }),
    ).toBeNull();
    expect(
      checkTransition(at("RECOVERY", 7), "HALT", system, { expectedVersion: 1, hasApproval: false }),
    ).toBeNull();
  });

  it("applying a transition bumps the version by one and records who and why", () => {
    const next = applyTransition(at("NORMAL", 4), "HALT", "Emergency halt", "token:admin-token", T0);
    expect(next).toMatchObject({
      state: "HALT",
      version: 5,
      reason: "Emergency halt",
      changedBy: "token:admin-token",
    });
  });
});

describe("failure counting", () => {
  it("venue errors: caution at 3, halt at 10; a success resets the count", () => {
    let r = at("NORMAL");
    let target: BreakerState | null = null;
    for (let i = 1; i <= 2; i++)
      ({ record: r, target } = countFailure(r, "venue_api_error", DEFAULT_THRESHOLDS));
    expect(target).toBeNull();
    r = countSuccess(r, "venue_api_error");
    expect(r.consecutiveFailures.venue_api_error).toBeUndefined();
    for (let i = 1; i <= 3; i++)
      ({ record: r, target } = countFailure(r, "venue_api_error", DEFAULT_THRESHOLDS));
    expect(target).toBe("CAUTION");
    expect(r.consecutiveFailures.venue_api_error).toBe(3);
  });

  it("order errors count apart from market-data errors: a data success does not reset them", () => {
    let r = at("NORMAL");
    let target: BreakerState | null = null;
    ({ record: r, target } = countFailure(r, "venue_order_error", DEFAULT_THRESHOLDS));
    r = countSuccess(r, "venue_api_error"); // ingestion's run went fine
    expect(r.consecutiveFailures.venue_order_error).toBe(1);
    ({ record: r, target } = countFailure(r, "venue_order_error", DEFAULT_THRESHOLDS));
    expect(target).toBe("CAUTION");
    for (let i = 3; i <= 5; i++) {
      r = countSuccess(r, "venue_api_error");
      ({ record: r, target } = countFailure(r, "venue_order_error", DEFAULT_THRESHOLDS));
    }
    expect(target).toBe("HALT");
    expect(countSuccess(r, "venue_order_error").consecutiveFailures.venue_order_error).toBeUndefined();
  });

  it("reconciliation drift and broken audit integrity halt at once; any failure in RECOVERY halts", () => {
    expect(countFailure(at("NORMAL"), "reconciliation_drift", DEFAULT_THRESHOLDS).target).toBe("HALT");
    expect(countFailure(at("CAUTION"), "audit_integrity_broken", DEFAULT_THRESHOLDS).target).toBe("HALT");
    expect(countFailure(at("RECOVERY"), "venue_api_error", DEFAULT_THRESHOLDS).target).toBe("HALT");
    expect(countFailure(at("HALT"), "venue_api_error", DEFAULT_THRESHOLDS).target).toBeNull();
  });

  it("thresholds are configurable; malformed entries keep the defaults", () => {
    const t = parseThresholds(
      JSON.stringify({ venue_api_error: { caution: 1, halt: 2 }, audit_failure: { caution: 5, halt: 1 } }),
    );
    expect(t.venue_api_error).toEqual({ caution: 1, halt: 2 });
    expect(t.audit_failure).toEqual(DEFAULT_THRESHOLDS.audit_failure);
    expect(parseThresholds("not json")).toEqual(DEFAULT_THRESHOLDS);
  });
});

describe("properties of random operation sequences", () => {
  type Op =
    | {
        kind: "transition";
        to: BreakerState;
        actor: 0 | 1 | 2;
        approval: boolean;
        /** The version the request names: the current one, an older one, or none. */
        version: "current" | "stale" | "none";
      }
    | { kind: "failure"; failure: FailureKind }
    | { kind: "success"; failure: FailureKind };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constant("transition" as const),
      to: fc.constantFrom(...STATES),
      actor: fc.constantFrom(0 as const, 1 as const, 2 as const),
      approval: fc.boolean(),
      version: fc.constantFrom("current" as const, "stale" as const, "none" as const),
    }),
    fc.record({ kind: fc.constant("failure" as const), failure: fc.constantFrom(...KINDS) }),
    fc.record({ kind: fc.constant("success" as const), failure: fc.constantFrom(...KINDS) }),
  );

  it("every state change follows the table; RECOVERY comes only from HALT by an operator; NORMAL from RECOVERY only with approval; HALT never refused", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        let r = initialBreaker(T0);
        for (const o of ops) {
          const before = r;
          if (o.kind === "transition") {
            const actor = [system, operator, person][o.actor]!;
            const expectedVersion =
              o.version === "current" ? r.version : o.version === "stale" ? r.version - 1 : undefined;
            const refusal = checkTransition(r, o.to, actor, { expectedVersion, hasApproval: o.approval });
            if (o.to === "HALT") expect(refusal).toBeNull();
            if (refusal) continue;
            // Only HALT acts without naming the version it found.
            if (o.to !== "HALT") expect(o.version).toBe("current");
            r = applyTransition(r, o.to, "x", "p", T0);
            if (o.to === "RECOVERY") expect(before.state === "HALT" && actor.method !== "system").toBe(true);
            if (before.state === "RECOVERY" && o.to === "NORMAL")
              expect(o.approval && actor.method !== "system").toBe(true);
          } else if (o.kind === "failure") {
            const { record, target } = countFailure(r, o.failure, DEFAULT_THRESHOLDS);
            r = record;
            if (before.state === "RECOVERY") expect(target).toBe("HALT");
            if (target) {
              expect(
                checkTransition(r, target, system, { expectedVersion: r.version, hasApproval: false }),
              ).toBeNull();
              r = applyTransition(r, target, "auto", "system:risk", T0);
            }
          } else {
            r = countSuccess(r, o.failure);
            expect(r.state).toBe(before.state);
          }
          if (r.state !== before.state) {
            expect(TRANSITIONS[before.state][r.state]).toBeDefined();
            expect(r.version).toBe(before.version + 1);
          }
          // A failure never loosens: it can only move towards CAUTION/HALT.
          if (o.kind === "failure" && r.state !== before.state)
            expect(["CAUTION", "HALT"]).toContain(r.state);
        }
      }),
      { numRuns: 500 },
    );
  });
});
