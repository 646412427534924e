import { beforeEach, expect, it } from "vitest";
import {
  audit,
  freshMark,
  intentMaker,
  operator,
  risk,
  strategyActor,
  transitionAtCurrent,
} from "./worker-helpers";

const intent = intentMaker("race", { strategyId: "r1", market: "MKT-R", quantity: 10 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeEach(async () => {
  await risk().recordMarks([freshMark("MKT-R", "0.50")]);
});

it("an opening order queued behind a slow evaluation when HALT lands is refused, not approved", async () => {
  await audit()._set({ delayMs: 1_500 });
  const first = risk().evaluate(intent(), strategyActor, "decide_and_consume"); // holds the governor's queue ~1.5 s
  await sleep(100);
  const second = risk().evaluate(intent(), strategyActor, "decide_and_consume"); // reads NORMAL, then waits its turn
  await sleep(100);
  const halt = risk().transitionBreaker({ targetState: "HALT", reason: "emergency" }, operator);
  await sleep(100);
  const status = await risk().getBreaker();
  expect(status.ok && status.value.state).toBe("HALT");
  await first;
  const r = await second;
  await halt;
  expect(r).toMatchObject({ ok: false, error: { code: "breaker_halted" } });
  expect(!r.ok && r.error.message).toMatch(/moved to HALT while this order was evaluated/);
  await audit()._set({ delayMs: 0 });
  await transitionAtCurrent("RECOVERY", "after the race");
});
