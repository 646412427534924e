import type { ReplayReport } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { canonicalReport, reportHash } from "../src/report";

// A fixed report with its hash pinned: a change to canonicalisation or hashing, or a runtime that computes them
// differently (this file runs in Node and in workerd), fails here. The pin was checked independently: Python's
// json.dumps(sort_keys=True, separators=(",", ":")) + hashlib.sha256 (equal to JCS for these strings and integers).
const report = (): ReplayReport => ({
  manifest: {
    strategy: {
      id: "rv-1",
      kind: "cross_venue_rv",
      params: { margin: "0.02", maxContracts: 10 },
      allocation: "1000",
    },
    pairs: [
      {
        pairId: "pair-1",
        kalshi: { marketId: "KX-1" },
        polymarket: { marketId: "0xc1", yesToken: "111" },
        yesMapsTo: "YES",
      },
    ],
    startingEquity: "1000",
    window: { from: "2026-11-01T00:00:00.000Z", to: "2026-11-02T00:00:00.000Z" },
    risk: { limits: { maxOrderNotional: "500.00" }, limitsVersion: 3 },
    fill: { latencyMs: 250 },
    engineVersion: "1",
    codeVersion: "offline",
    evidence: ["a".repeat(64), "b".repeat(64)],
    sightings: 3,
  },
  summary: {
    decisions: 2,
    orders: 1,
    fills: 1,
    startingEquity: "1000.0000",
    endingEquity: "1000.4200",
    pnl: "0.4200",
    fees: "0.0200",
    maxDrawdown: "0.0000",
    maxDrawdownFraction: "0.0000",
    turnover: "4.2000",
    denialsByCode: { stale_mark: 1 },
    staleDecisionShare: "0.5000",
  },
  trades: [],
  equityCurve: [{ at: "2026-11-01T00:00:00.000Z", equity: "1000.0000" }],
  exposure: [],
});

describe("the report's hash", () => {
  it("is the SHA-256 of the canonical JSON, key order and all", async () => {
    const r = report();
    // Keys sorted, no whitespace (RFC 8785).
    expect(
      canonicalReport(r).startsWith(
        '{"equityCurve":[{"at":"2026-11-01T00:00:00.000Z","equity":"1000.0000"}]',
      ),
    ).toBe(true);
    expect(await reportHash(r)).toBe("86c742aa067723e3fa122aa8966aa15315a01c3a77d1ab2e47139c5c9e59ad02");
  });

  it("does not depend on the order the report's keys were written in, and changes with any value", async () => {
    const r = report();
    const reordered = {
      exposure: r.exposure,
      trades: r.trades,
      summary: r.summary,
      equityCurve: r.equityCurve,
      manifest: r.manifest,
    };
    expect(await reportHash(reordered)).toBe(await reportHash(r));
    const other = report();
    other.manifest.fill.latencyMs = 251;
    expect(await reportHash(other)).not.toBe(await reportHash(r));
  });
});
