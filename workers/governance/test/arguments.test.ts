import type { GoLiveReplay, Principal, Result } from "@paulp/contracts";
import { beforeEach, describe, expect, it } from "vitest";
import { alice, auditDouble, auditTypes, gov } from "./helpers";

// Every RPC method refuses a malformed argument before any work, naming the field at fault (validation_failed); a
// malformed receipt is a refused approval (approval_required) rather than a malformed argument. The answers are the
// ones governance gave when each operation parsed its own arguments, word for word, and nothing is audited.

const receipt = { requestId: "apr_whatever", receiptToken: "t".repeat(43) };
const badReceipt = { requestId: "apr whatever", receiptToken: "t".repeat(43) };
const noMethod = { subject: "alice" } as unknown as Principal;
const replay = {} as unknown as GoLiveReplay;
const roster = { action: "risk.limits_increase" as const, approvers: ["a@x.test", "b@x.test"], version: 1 };

/** [what is malformed, the call with it (every other argument well formed), the answer's code and message]. */
const cases: [string, () => Promise<Result<unknown>>, string, string][] = [
  [
    "redeemReceipt: receipt",
    () => gov().redeemReceipt(badReceipt, "risk.limits_increase", {}, alice),
    "approval_required",
    "receipt refused: requestId: must be an id of [A-Za-z0-9_-]",
  ],
  [
    "redeemReceipt: action",
    () => gov().redeemReceipt(receipt, "risk.nothing" as never, {}, alice),
    "validation_failed",
    '(body): Invalid type: Expected ("strategy.go_live" | "risk.limits_increase" | "risk.capital_increase" | "strategy.allocation_increase" | "execution.policy_live" | "breaker.recovery_to_normal" | "governance.roster_change") but received "risk.nothing"',
  ],
  [
    "redeemReceipt: actor",
    () => gov().redeemReceipt(receipt, "risk.limits_increase", {}, noMethod),
    "validation_failed",
    'method: Invalid key: Expected "method" but received undefined',
  ],
  [
    "returnReceipt: receipt",
    () => gov().returnReceipt({ requestId: "apr_x", receiptToken: "short" }, "why", alice),
    "approval_required",
    "receipt not returned: receiptToken: Invalid length: Expected >=16 but received 5",
  ],
  [
    "returnReceipt: reason",
    () => gov().returnReceipt(receipt, "", alice),
    "validation_failed",
    "(body): Invalid length: Expected >=1 but received 0",
  ],
  [
    "returnReceipt: actor",
    () => gov().returnReceipt(receipt, "why", noMethod),
    "validation_failed",
    'method: Invalid key: Expected "method" but received undefined',
  ],
  [
    "proposePairs: candidates",
    () => gov().proposePairs({} as never, alice),
    "validation_failed",
    "(body): Invalid type: Expected Array but received Object",
  ],
  [
    "proposePairs: actor",
    () => gov().proposePairs([], noMethod),
    "validation_failed",
    'method: Invalid key: Expected "method" but received undefined',
  ],
  [
    "getStrategy: id",
    () => gov().getStrategy(""),
    "validation_failed",
    "(body): Invalid length: Expected >=1 but received 0",
  ],
  [
    "requestApproval: input",
    () => gov().requestApproval({ action: "risk.nothing" as never, payload: {} }, alice),
    "validation_failed",
    'action: Invalid type: Expected ("strategy.go_live" | "risk.limits_increase" | "risk.capital_increase" | "strategy.allocation_increase" | "execution.policy_live" | "breaker.recovery_to_normal" | "governance.roster_change") but received "risk.nothing"',
  ],
  [
    "requestApproval: actor",
    () => gov().requestApproval({ action: "risk.limits_increase", payload: {} }, noMethod),
    "validation_failed",
    'method: Invalid key: Expected "method" but received undefined',
  ],
  [
    "approve: id",
    () => gov().approve("apr whatever", alice),
    "validation_failed",
    "id: must be an id of [A-Za-z0-9_-]",
  ],
  [
    "approve: actor",
    () => gov().approve("apr_whatever", noMethod),
    "validation_failed",
    'actor.method: Invalid key: Expected "method" but received undefined',
  ],
  [
    "reject: id",
    () => gov().reject("apr whatever", "why", alice),
    "validation_failed",
    "(body): must be an id of [A-Za-z0-9_-]",
  ],
  [
    "reject: reason",
    () => gov().reject("apr_whatever", "", alice),
    "validation_failed",
    "(body): Invalid length: Expected >=1 but received 0",
  ],
  [
    "reject: actor",
    () => gov().reject("apr_whatever", "why", noMethod),
    "validation_failed",
    'method: Invalid key: Expected "method" but received undefined',
  ],
  [
    "listApprovals: filter",
    () => gov().listApprovals({ status: "weird" as never }),
    "validation_failed",
    'status: Invalid type: Expected ("pending" | "approved" | "rejected" | "expired" | "executed" | "cancelled") but received "weird"',
  ],
  [
    "getApproval: id",
    () => gov().getApproval("apr whatever"),
    "validation_failed",
    "(body): must be an id of [A-Za-z0-9_-]",
  ],
  [
    "reissueReceipt: id",
    () => gov().reissueReceipt("apr whatever", alice),
    "validation_failed",
    "id: must be an id of [A-Za-z0-9_-]",
  ],
  [
    "reissueReceipt: actor",
    () => gov().reissueReceipt("apr_whatever", noMethod),
    "validation_failed",
    'actor.method: Invalid key: Expected "method" but received undefined',
  ],
  [
    "applyStrategyApproval: receipt, and a payload its check refuses first",
    () => gov().applyStrategyApproval(badReceipt, "strategy.go_live", {}, alice),
    "validation_failed",
    'strategyId: Invalid key: Expected "strategyId" but received undefined',
  ],
  [
    "applyStrategyApproval: action",
    () => gov().applyStrategyApproval(receipt, "risk.limits_increase" as never, {}, alice),
    "validation_failed",
    '(body): Invalid type: Expected ("strategy.go_live" | "strategy.allocation_increase") but received "risk.limits_increase"',
  ],
  [
    "applyStrategyApproval: actor",
    () => gov().applyStrategyApproval(receipt, "strategy.go_live", {}, noMethod),
    "validation_failed",
    'method: Invalid key: Expected "method" but received undefined',
  ],
  [
    "applyStrategyApproval: payload",
    () => gov().applyStrategyApproval(receipt, "strategy.go_live", { strategyId: 1 }, alice),
    "validation_failed",
    "strategyId: Invalid type: Expected string but received 1",
  ],
  [
    "applyRosterChange: receipt",
    () => gov().applyRosterChange(badReceipt, roster, alice),
    "approval_required",
    "receipt refused: requestId: must be an id of [A-Za-z0-9_-]",
  ],
  [
    "applyRosterChange: payload",
    () => gov().applyRosterChange(receipt, { ...roster, approvers: [] }, alice),
    "validation_failed",
    "approvers: Invalid length: Expected >=2 but received 0",
  ],
  [
    "applyRosterChange: actor",
    () => gov().applyRosterChange(receipt, roster, noMethod),
    "validation_failed",
    'method: Invalid key: Expected "method" but received undefined',
  ],
  [
    "createStrategy: input",
    () => gov().createStrategy({ name: "" } as never, alice),
    "validation_failed",
    "name: Invalid length: Expected >=1 but received 0",
  ],
  [
    "createStrategy: actor",
    () =>
      gov().createStrategy(
        { name: "s", kind: "arbitrage", allocation: "100", venues: ["kalshi"], params: {} } as never,
        noMethod,
      ),
    "validation_failed",
    'method: Invalid key: Expected "method" but received undefined',
  ],
  [
    "transitionStrategy: id",
    () => gov().transitionStrategy("stg whatever", "paused", alice),
    "validation_failed",
    "(body): must be an id of [A-Za-z0-9_-]",
  ],
  [
    "transitionStrategy: to",
    () => gov().transitionStrategy("stg_whatever", "live" as never, alice),
    "validation_failed",
    '(body): Invalid type: Expected ("paper" | "paused" | "retired") but received "live"',
  ],
  [
    "transitionStrategy: actor",
    () => gov().transitionStrategy("stg_whatever", "paused", noMethod),
    "validation_failed",
    'method: Invalid key: Expected "method" but received undefined',
  ],
  [
    "requestGoLive: id",
    () => gov().requestGoLive("stg whatever", alice, replay),
    "validation_failed",
    "id: must be an id of [A-Za-z0-9_-]",
  ],
  [
    "requestGoLive: actor",
    () => gov().requestGoLive("stg_whatever", noMethod, replay),
    "validation_failed",
    'actor.method: Invalid key: Expected "method" but received undefined',
  ],
  [
    "requestGoLive: replay",
    () => gov().requestGoLive("stg_whatever", alice, replay),
    "validation_failed",
    'replayId: Invalid key: Expected "replayId" but received undefined',
  ],
  [
    "listPairs: filter",
    () => gov().listPairs({ review: "weird" as never }),
    "validation_failed",
    "review: must be pending, approved or rejected",
  ],
  [
    "assessPair: id",
    () => gov().assessPair("pair whatever", alice),
    "validation_failed",
    "id: must be an id of [A-Za-z0-9_-]",
  ],
  [
    "assessPair: actor",
    () => gov().assessPair("pair_whatever", noMethod),
    "validation_failed",
    'actor.method: Invalid key: Expected "method" but received undefined',
  ],
  [
    "reviewPair: id",
    () => gov().reviewPair("pair whatever", { decision: "approve" } as never, alice),
    "validation_failed",
    "(body): must be an id of [A-Za-z0-9_-]",
  ],
  [
    "reviewPair: review",
    () => gov().reviewPair("pair_whatever", { decision: "maybe" } as never, alice),
    "validation_failed",
    'decision: Invalid type: Expected ("approve" | "reject") but received "maybe"',
  ],
  [
    "reviewPair: actor",
    () => gov().reviewPair("pair_whatever", { decision: "approve" } as never, noMethod),
    "validation_failed",
    'method: Invalid key: Expected "method" but received undefined',
  ],
  [
    "assessPending: actor",
    () => gov().assessPending(noMethod),
    "validation_failed",
    'method: Invalid key: Expected "method" but received undefined',
  ],
];

beforeEach(async () => {
  await auditDouble()._reset();
});

describe("a malformed argument", () => {
  it("is refused through the real entrypoint with the same answer as before, and nothing is audited", async () => {
    for (const [what, call, code, message] of cases) {
      const answer = await call();
      expect(
        answer.ok ? "answered ok" : { code: answer.error.code, message: answer.error.message },
        what,
      ).toEqual({
        code,
        message,
      });
    }
    expect(await auditTypes()).toEqual([]);
  });
});
