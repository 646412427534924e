import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalHash, constantTimeEqual, sha256Hex } from "../src/crypto";

describe("constantTimeEqual", () => {
  it("is true exactly when the strings are equal", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.string(), async (a, b) => {
        expect(await constantTimeEqual(a, b)).toBe(a === b);
        expect(await constantTimeEqual(a, a)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("tells apart strings that differ only in the last character or in length", async () => {
    const token = `${"k".repeat(10)}0123456789abcdefghijklmnopqrstuv`;
    expect(await constantTimeEqual(token, `${token.slice(0, -1)}w`)).toBe(false);
    expect(await constantTimeEqual(token, `${token}x`)).toBe(false);
  });
});

describe("hashes", () => {
  it("sha256Hex matches the FIPS 180-2 'abc' vector", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("canonicalHash ignores key order but not values or domain", async () => {
    const a = await canonicalHash("d", { x: 1, y: [1, 2] });
    expect(await canonicalHash("d", { y: [1, 2], x: 1 })).toBe(a);
    expect(await canonicalHash("d", { x: 2, y: [1, 2] })).not.toBe(a);
    expect(await canonicalHash("e", { x: 1, y: [1, 2] })).not.toBe(a);
  });
});
