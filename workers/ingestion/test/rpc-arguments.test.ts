import { beforeEach, describe, expect, it } from "vitest";
import { resetAll, worker } from "./helpers";

beforeEach(resetAll);

// The paged lists (markets, evidence, fetches) and the market-keyed reads (mark, book) check their arguments
// through the real entrypoint: a malformed one answers `validation_failed`, worded as it always was.
const WINDOW = { from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" };
const cursorOf = (key: object) => btoa(JSON.stringify(key));
const notObject = '(body): Invalid type: Expected Object but received "x"';

describe("RPC arguments", () => {
  it("a malformed query, cursor or market key answers the same validation error", async () => {
    const w = worker() as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const cases: [string, unknown[], string][] = [
      ["listMarkets", [{ limit: 5000 }], "limit: Invalid value: Expected <=1000 but received 5000"],
      ["listMarkets", [{ cursor: "!!" }], "cursor: invalid"],
      ["listMarkets", [{ cursor: cursorOf({ venue: 1 }) }], "cursor: invalid"],
      ["listMarkets", ["x"], notObject],
      ["listEvidence", ["x"], notObject],
      ["listEvidence", [{ cursor: "!!" }], "cursor: invalid"],
      ["listFetches", [{ ...WINDOW, limit: 0 }], "limit: Invalid value: Expected >=1 but received 0"],
      ["listFetches", [{ ...WINDOW, cursor: cursorOf({ fetchedAt: "x", id: "y" }) }], "cursor: invalid"],
      ["listFetches", [{}], 'from: Invalid key: Expected "from" but received undefined'],
      ["getMark", ["nope", "M-1"], '0: Invalid type: Expected ("kalshi" | "polymarket") but received "nope"'],
      ["getMark", ["kalshi", ""], "1: Invalid length: Expected >=1 but received 0"],
      ["getOrderBook", ["kalshi", "M-1", -1], "(body): Invalid value: Expected >=0 but received -1"],
    ];
    for (const [method, args, message] of cases) {
      expect(await w[method]!(...args), `${method}(${JSON.stringify(args)})`).toMatchObject({
        ok: false,
        error: { code: "validation_failed", message },
      });
    }
  });
});
