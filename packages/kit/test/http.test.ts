import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { errorResponse, HttpError, parseInput, readJsonBody, resultResponse } from "../src/http";

const Body = v.object({
  targetState: v.picklist(["HALT", "NORMAL"]),
  reason: v.pipe(v.string(), v.minLength(1)),
});
const post = (body: string) => new Request("https://x/", { method: "POST", body });

async function thrown(p: Promise<unknown>): Promise<HttpError> {
  try {
    await p;
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error("expected an HttpError");
}

describe("readJsonBody", () => {
  it("parses a valid body without a content-type header (as the spec's curl sends it)", async () => {
    expect(await readJsonBody(post('{"targetState":"HALT","reason":"Emergency halt"}'), Body)).toEqual({
      targetState: "HALT",
      reason: "Emergency halt",
    });
  });

  it("answers 400 invalid_json for bad JSON", async () => {
    const error = await thrown(readJsonBody(post("{targetState:"), Body));
    expect([error.status, error.code]).toEqual([400, "invalid_json"]);
  });

  it("answers 400 validation_failed naming the field at fault", async () => {
    const error = await thrown(readJsonBody(post('{"targetState":"PANIC","reason":"x"}'), Body));
    expect([error.status, error.code]).toEqual([400, "validation_failed"]);
    expect(error.message).toMatch(/^targetState: /);
    const res = errorResponse(error);
    expect(res.status).toBe(400);
    expect(
      ((await res.json()) as { error: { details: { issues: { field: string }[] } } }).error.details.issues[0]!
        .field,
    ).toBe("targetState");
  });

  it("refuses an oversized body, counting bytes (not characters), and by its declared length at once", async () => {
    const error = await thrown(readJsonBody(post(`"${"x".repeat(2000)}"`), Body, 1000));
    expect(error.status).toBe(413);
    // 400 three-byte characters: 400 characters but 1,200 bytes.
    expect((await thrown(readJsonBody(post(`"${"€".repeat(400)}"`), Body, 1000))).status).toBe(413);
    const declared = new Request("https://x/", {
      method: "POST",
      body: "{}",
      headers: { "content-length": "5000000" },
    });
    expect((await thrown(readJsonBody(declared, Body, 1000))).status).toBe(413);
  });
});

describe("results", () => {
  it("maps error codes to statuses and never leaks internals of unknown errors", async () => {
    expect(resultResponse({ ok: false, error: { code: "approval_required", message: "m" } }).status).toBe(
      403,
    );
    expect(resultResponse({ ok: false, error: { code: "upstream_error", message: "m" } }).status).toBe(502);
    const res = errorResponse(new Error("secret internals"));
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain("secret internals");
  });

  it("parseInput returns a failed result instead of throwing", () => {
    const result = parseInput(Body, { targetState: "HALT" });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toMatch(/^reason: /);
  });
});
