import { describe, expect, it } from "vitest";
import { letterWords } from "../src/words";

describe("letterWords", () => {
  it("answers the lower-case letter runs, in order, split by anything else", () => {
    expect(letterWords("Source: https://www.BLS.gov/cpi (U.S. Bureau of Labor Statistics)")).toEqual([
      "source",
      "https",
      "www",
      "bls",
      "gov",
      "cpi",
      "u",
      "s",
      "bureau",
      "of",
      "labor",
      "statistics",
    ]);
    expect(letterWords("CPI-U 2.6% année")).toEqual(["cpi", "u", "ann", "e"]);
  });

  it("answers no words for text without letters", () => {
    expect(letterWords("")).toEqual([]);
    expect(letterWords(" 2026-01-01, 95,000 ")).toEqual([]);
  });
});
