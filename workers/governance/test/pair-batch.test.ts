import type { PairCandidate } from "@paulp/contracts";
import { sha256Hex } from "@paulp/kit";
import { describe, expect, it } from "vitest";
import { gov, TOKEN } from "./helpers";

// Its own file: the hundreds of pairs it stores would crowd the other pair tests' unassessed queue.
let n = 0;
async function candidate(): Promise<PairCandidate> {
  const leg = async (venue: "kalshi" | "polymarket") => {
    const marketId = `${venue}-batch-${++n}`;
    return {
      venue,
      marketId,
      title: `Batch market ${n}`,
      rules: `Resolves Yes if batch event ${n} happens.`,
      resolutionSource: "Source: the batch.",
      closeTime: "2027-03-15T14:00:00.000Z",
      evidenceHash: await sha256Hex(`evidence:${marketId}`),
      termsHash: await sha256Hex(`terms:${marketId}`),
      termsVersion: 2,
    } as const;
  };
  return { kalshi: await leg("kalshi"), polymarket: await leg("polymarket"), similarity: 0.9 };
}

describe("proposing a realistic batch", () => {
  it("a batch of hundreds is compared with the stored pairs in a few queries, every candidate in it", async () => {
    // More candidates than one lookup query takes (200), so the last ones are found by a later query.
    const batch = await Promise.all(Array.from({ length: 450 }, () => candidate()));
    const first = await gov().proposePairs(batch, TOKEN);
    expect(first.ok && first.value).toEqual({ created: 450, lapsed: 0, refused: 0, rekeyed: 0 });
    const last = batch[449]!;
    const changed = {
      ...last,
      kalshi: {
        ...last.kalshi,
        rules: `${last.kalshi.rules} Revised.`,
        termsHash: await sha256Hex("revised"),
      },
    };
    const again = await gov().proposePairs([...batch.slice(0, 449), changed], TOKEN);
    expect(again.ok && again.value).toEqual({ created: 0, lapsed: 1, refused: 0, rekeyed: 0 });
  });
});
