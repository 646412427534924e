import type { RiskLimits } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { operator, redeemCalls, risk, transitionAtCurrent } from "./worker-helpers";

// The three two-person changes (breaker transition, limits, capital) take the same arguments: the change, the
// actor, an optional approval receipt. Each argument is checked in that order through the real entrypoint, and
// the first failure is the answer, worded as before; a change that needs a receipt refuses without one.

/** The entrypoint's two-person methods, called with whatever arguments a caller sends. */
const loose = () =>
  risk() as unknown as Record<
    "transitionBreaker" | "updateLimits" | "setCapital",
    (...args: unknown[]) => Promise<{ ok: boolean; error?: { code: string; message: string } }>
  >;

async function limitsNow(): Promise<RiskLimits> {
  const r = await risk().getLimits();
  if (!r.ok) throw new Error(r.error.message);
  return r.value.limits;
}

const halt = { targetState: "HALT", reason: "x" };

describe("two-person changes: malformed arguments", () => {
  it("each method answers the first malformed argument (change, actor, receipt) with the same validation error", async () => {
    const limits = await limitsNow();
    const cases: [keyof ReturnType<typeof loose>, unknown[], string][] = [
      ["transitionBreaker", ["nope", operator], '(body): Invalid type: Expected Object but received "nope"'],
      [
        "transitionBreaker",
        [{ targetState: "NOPE", reason: "x" }, operator],
        'targetState: Invalid type: Expected ("NORMAL" | "CAUTION" | "HALT" | "RECOVERY") but received "NOPE"',
      ],
      [
        "transitionBreaker",
        [halt, { method: "token" }],
        'subject: Invalid key: Expected "subject" but received undefined',
      ],
      [
        "transitionBreaker",
        [halt, operator, { requestId: 5 }],
        "requestId: Invalid type: Expected string but received 5",
      ],
      [
        "updateLimits",
        [{ ...limits, maxPositionPct: "five" }, operator],
        "maxPositionPct: must be a percentage like 5 or 2.5",
      ],
      ["updateLimits", [limits, "me"], '(body): Invalid type: Expected Object but received "me"'],
      [
        "updateLimits",
        [limits, operator, { requestId: "r", receiptToken: 3 }],
        "receiptToken: Invalid type: Expected string but received 3",
      ],
      ["setCapital", [{ equity: 5 }, operator], "equity: Invalid type: Expected string but received 5"],
      [
        "setCapital",
        [{ equity: "5.00" }, {}],
        'method: Invalid key: Expected "method" but received undefined',
      ],
      [
        "setCapital",
        [{ equity: "5.00" }, operator, "tok"],
        '(body): Invalid type: Expected Object but received "tok"',
      ],
    ];
    for (const [method, args, message] of cases) {
      expect(await loose()[method](...args), `${method}(${JSON.stringify(args)})`).toMatchObject({
        ok: false,
        error: { code: "validation_failed", message },
      });
    }
    // Nothing was applied: the limits and the breaker are as they were.
    expect(await limitsNow()).toEqual(limits);
    expect(await risk().getBreaker()).toMatchObject({ ok: true, value: { state: "NORMAL" } });
  });
});

describe("two-person changes: no receipt, no change", () => {
  it("a raise of limits or capital, and RECOVERY → NORMAL, refuse approval_required without a receipt", async () => {
    const limits = await limitsNow();
    expect(
      await risk().updateLimits({ ...limits, maxOrderQuantity: limits.maxOrderQuantity + 1 }, operator),
    ).toMatchObject({
      ok: false,
      error: { code: "approval_required", details: { action: "risk.limits_increase" } },
    });
    expect(await risk().setCapital({ equity: "250000.00" }, operator)).toMatchObject({
      ok: false,
      error: { code: "approval_required", details: { action: "risk.capital_increase" } },
    });
    expect((await risk().transitionBreaker(halt as never, operator)).ok).toBe(true);
    expect((await transitionAtCurrent("RECOVERY", "fixed")).ok).toBe(true);
    expect(await transitionAtCurrent("NORMAL", "probes passed")).toMatchObject({
      ok: false,
      error: { code: "approval_required", details: { action: "breaker.recovery_to_normal" } },
    });
    expect(await redeemCalls()).toEqual([]);
    expect(await limitsNow()).toEqual(limits);
    expect(await risk().getBreaker()).toMatchObject({ ok: true, value: { state: "RECOVERY" } });
  });
});
