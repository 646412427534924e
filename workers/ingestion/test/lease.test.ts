import { createEgressFetch } from "@paulp/kit";
import { beforeEach, describe, expect, it } from "vitest";
import { runVenue } from "../src/pipeline";
import { count, resetAll, tenv, testDeps } from "./helpers";

beforeEach(resetAll);

/** Deps whose outbound fetches are counted (the simulator still answers them). */
function countingDeps() {
  let fetches = 0;
  const inner = createEgressFetch({ simulator: tenv.VENUE_SIM, timeoutMs: 5_000 });
  const deps = testDeps({
    fetch: (input, init) => {
      fetches += 1;
      return inner(input, init);
    },
  });
  return { deps, fetches: () => fetches };
}

const state = () =>
  tenv.D1_MARKETS.prepare(
    "SELECT cursor, lease_owner, lease_until FROM ingest_state WHERE venue = 'kalshi'",
  ).first<{
    cursor: string | null;
    lease_owner: string | null;
    lease_until: number | null;
  }>();

describe("the per-venue run lease", () => {
  it("makes a run busy while another holds the lease: nothing fetched, nothing written, cursor kept", async () => {
    await tenv.D1_MARKETS.prepare(
      "INSERT INTO ingest_state (venue, cursor, lease_owner, lease_until) VALUES ('kalshi', 'C1', 'other-run', ?1)",
    )
      .bind(Date.now() + 60_000)
      .run();
    const { deps, fetches } = countingDeps();
    const { report } = await runVenue(deps, "kalshi", { maxPages: 1, pageSize: 50 });
    expect(report.outcome).toBe("busy");
    expect(fetches()).toBe(0);
    expect(await count("markets")).toBe(0);
    expect(await state()).toMatchObject({ cursor: "C1", lease_owner: "other-run" });
  });

  it("takes over a lease that lapsed (a run that died) and releases it when done", async () => {
    await tenv.D1_MARKETS.prepare(
      "INSERT INTO ingest_state (venue, cursor, lease_owner, lease_until) VALUES ('kalshi', NULL, 'dead-run', ?1)",
    )
      .bind(Date.now() - 1)
      .run();
    const { report } = await runVenue(testDeps(), "kalshi", { maxPages: 1, pageSize: 50 });
    expect(report.outcome).toBe("ok");
    // The first 50 open markets, less the one the simulator plants unrepresentable.
    expect(report.stored).toBe(49);
    const after = await state();
    expect(after).toMatchObject({ lease_owner: null, lease_until: null });
    expect(after?.cursor).not.toBeNull();
  });

  it("lets exactly one of two concurrent runs work, so the cursor moves one page, not two interleaved", async () => {
    const [a, b] = await Promise.all([
      runVenue(testDeps(), "kalshi", { maxPages: 1, pageSize: 50 }),
      runVenue(testDeps(), "kalshi", { maxPages: 1, pageSize: 50 }),
    ]);
    expect([a.report.outcome, b.report.outcome].sort()).toEqual(["busy", "ok"]);
    expect(await count("markets")).toBe(49);
    expect((await state())?.lease_owner).toBeNull();
  });
});
