import type { PairLeg } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { passingGradeConflicts } from "../src/terms-check";

const base = (venue: "kalshi" | "polymarket", over: Partial<PairLeg> = {}): PairLeg => ({
  venue,
  marketId: `${venue}-1`,
  title: "Will CPI year-over-year inflation in March 2027 be above 2.6%?",
  rules:
    "If CPI year-over-year inflation for March 2027, as first published by the Bureau of Labor Statistics, is above 2.6%, Yes.",
  resolutionSource: null,
  closeTime: "2027-04-10T14:00:00.000Z",
  evidenceHash: "a".repeat(64),
  termsHash: "b".repeat(64),
  ...over,
});

describe("the terms check outside the model", () => {
  it("agrees when close times are near and the stated source is named by the other market", () => {
    expect(
      passingGradeConflicts(
        base("kalshi"),
        base("polymarket", { resolutionSource: "https://www.bureauoflaborstatistics.gov" }),
      ),
    ).toEqual([]);
    // By its initials: bls.gov is the Bureau of Labor Statistics.
    expect(
      passingGradeConflicts(
        base("kalshi"),
        base("polymarket", {
          resolutionSource: "https://www.bls.gov/cpi/",
          closeTime: "2027-04-11T12:00:00Z",
        }),
      ),
    ).toEqual([]);
    // Both stated, in other words for the same publisher.
    expect(
      passingGradeConflicts(
        base("kalshi", { resolutionSource: "Source: Bureau of Labor Statistics." }),
        base("polymarket", { resolutionSource: "https://www.bureauoflaborstatistics.gov" }),
      ),
    ).toEqual([]);
  });

  it("names close times more than 48 h apart, or missing", () => {
    const far = passingGradeConflicts(
      base("kalshi"),
      base("polymarket", { resolutionSource: "https://www.bls.gov", closeTime: "2027-04-12T14:00:01.000Z" }),
    );
    expect(far).toEqual([expect.stringMatching(/^close time: 48\.0 h apart/)]);
    const missing = passingGradeConflicts(
      base("kalshi", { closeTime: null }),
      base("polymarket", { resolutionSource: "https://www.bls.gov" }),
    );
    expect(missing).toEqual([expect.stringMatching(/^close time: kalshi has none/)]);
    const garbage = passingGradeConflicts(
      base("kalshi"),
      base("polymarket", { resolutionSource: "https://www.bls.gov", closeTime: "next spring" }),
    );
    expect(garbage).toEqual([expect.stringMatching(/^close time: polymarket has none/)]);
  });

  it("names a source the other market does not name, and a pair with no stated source at all", () => {
    const other = passingGradeConflicts(
      base("kalshi"),
      base("polymarket", { resolutionSource: "https://inflation-dashboard.example" }),
    );
    expect(other).toEqual([expect.stringMatching(/polymarket's "https:\/\/inflation-dashboard.example"/)]);
    expect(passingGradeConflicts(base("kalshi"), base("polymarket"))).toEqual([
      expect.stringMatching(/stated on neither market/),
    ]);
  });
});
