import { runInDurableObject } from "cloudflare:test";
import { beforeEach, expect, it } from "vitest";
import {
  audit,
  freshMark,
  intentMaker,
  operator,
  risk,
  strategyActor,
  testEnv,
  transitionAtCurrent,
} from "./worker-helpers";

const intent = intentMaker("race", { strategyId: "r1", market: "MKT-R", quantity: 10 });

/** Answers once `count` evaluations are queued or running in the governor's serial queue (the event, not a sleep). */
const governorQueueHolds = (count: number) =>
  runInDurableObject(testEnv.RISK_GOVERNOR.getByName("portfolio"), (governor) =>
    governor.queue.whenPending(count),
  );

beforeEach(async () => {
  await risk().recordMarks([freshMark("MKT-R", "0.50")]);
});

it("an opening order queued behind a slow evaluation when HALT lands is refused, not approved", async () => {
  // The first evaluation holds the governor's queue at its audit append until the test lets it go.
  await audit()._hold("append");
  const first = risk().evaluate(intent(), strategyActor, "decide_and_consume");
  await audit()._arrivals("appending", 1);
  // The second reads NORMAL, then waits its turn behind the first.
  const second = risk().evaluate(intent(), strategyActor, "decide_and_consume");
  await governorQueueHolds(2);
  // HALT is applied before its own audit append (a tightening is never held up by the chain), which is held too:
  // its arrival says the breaker is HALT.
  const halt = risk().transitionBreaker({ targetState: "HALT", reason: "emergency" }, operator);
  await audit()._arrivals("appending", 2);
  const status = await risk().getBreaker();
  expect(status.ok && status.value.state).toBe("HALT");
  await audit()._release();
  await first;
  const r = await second;
  expect(await halt).toMatchObject({ ok: true });
  // The second was evaluated against the NORMAL it read and approved; risk reads the breaker again before answering.
  expect(r).toMatchObject({ ok: false, error: { code: "breaker_halted" } });
  expect(!r.ok && r.error.message).toMatch(/moved to HALT while this order was evaluated/);
  await transitionAtCurrent("RECOVERY", "after the race");
});
