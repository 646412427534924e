import { describe, expect, it } from "vitest";
import { modelLifecycle, parseSdkDate, SDK_DEPRECATED_MODELS, SDK_MODELS } from "../src/anthropic-models";

const at = (iso: string) => Date.parse(iso);

describe("model lifecycle from the SDK's own data", () => {
  it("reads the SDK's date wording", () => {
    expect(parseSdkDate("November 30th, 2026")).toBe("2026-11-30");
    expect(parseSdkDate("January 22nd, 2027")).toBe("2027-01-22");
    expect(parseSdkDate("June 1st, 2026")).toBe("2026-06-01");
    expect(parseSdkDate("February 30th, 2027")).toBeNull();
    expect(parseSdkDate("soon")).toBeNull();
  });

  it("every date in the shipped deprecation list reads as a date", () => {
    expect(Object.keys(SDK_DEPRECATED_MODELS).length).toBeGreaterThan(0);
    for (const [model, date] of Object.entries(SDK_DEPRECATED_MODELS))
      expect({ model, date: parseSdkDate(date) }).toEqual({ model, date: expect.stringMatching(/^\d{4}-/) });
  });

  // The list as SDK 1.14.0 shipped it, when claude-sonnet-4-5 was still deprecated rather than removed.
  const v1_14 = {
    known: [...SDK_MODELS, "claude-sonnet-4-5"],
    deprecated: { ...SDK_DEPRECATED_MODELS, "claude-sonnet-4-5": "November 30th, 2026" },
  };

  it("a listed model is deprecated before its end-of-life day and retired from its first instant", () => {
    expect(modelLifecycle("claude-sonnet-4-5", at("2026-11-29T23:59:59.999Z"), v1_14)).toEqual({
      state: "deprecated",
      model: "claude-sonnet-4-5",
      endOfLife: "2026-11-30",
      daysLeft: 1,
    });
    const retired = modelLifecycle("claude-sonnet-4-5", at("2026-11-30T00:00:00.000Z"), v1_14);
    expect(retired).toMatchObject({ state: "retired", endOfLife: "2026-11-30" });
    expect(retired.state === "retired" && retired.reason).toMatch(/reached its end of life on 2026-11-30/);
  });

  it("a model the SDK no longer names is retired (the current SDK removed claude-sonnet-4-5)", () => {
    const now = at("2026-12-01T00:00:00.000Z");
    const gone = modelLifecycle("claude-sonnet-4-5", now);
    expect(gone.state).toBe("retired");
    expect(gone.state === "retired" && gone.reason).toMatch(/not a model the Anthropic SDK names/);
    expect(modelLifecycle("claude-made-up", now).state).toBe("retired");
  });

  it("the shipped list: claude-opus-4-5 is deprecated until 2027-01-22; claude-sonnet-5-5 is active", () => {
    expect(modelLifecycle("claude-opus-4-5", at("2027-01-21T12:00:00.000Z"))).toMatchObject({
      state: "deprecated",
      endOfLife: "2027-01-22",
    });
    expect(modelLifecycle("claude-opus-4-5", at("2027-01-22T00:00:00.000Z")).state).toBe("retired");
    expect(modelLifecycle("claude-sonnet-5-5", at("2026-12-01T00:00:00.000Z"))).toEqual({
      state: "active",
      model: "claude-sonnet-5-5",
    });
  });

  it("a deprecation date that does not read fails closed", () => {
    const odd = modelLifecycle("claude-x", 0, { known: ["claude-x"], deprecated: { "claude-x": "someday" } });
    expect(odd).toMatchObject({ state: "retired", endOfLife: null });
  });

  it("an inherited property name is not a listed model", () => {
    expect(modelLifecycle("constructor", 0).state).toBe("retired");
    expect(modelLifecycle("toString", 0, { known: ["toString"], deprecated: {} }).state).toBe("active");
  });
});
