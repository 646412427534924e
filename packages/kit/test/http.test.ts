import { nestsDeeperThan } from "@paulp/contracts";
import fc from "fast-check";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import {
  errorResponse,
  HttpError,
  jsonTextNestsDeeperThan,
  parseInput,
  readBounded,
  readJsonBody,
  resultResponse,
} from "../src/http";

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

describe("JSON nesting depth", () => {
  const nested = (depth: number, open = "[", close = "]") => `${open.repeat(depth)}${close.repeat(depth)}`;

  it("answers 400 invalid_json for a body nesting past 64 levels, before parsing it", async () => {
    const error = await thrown(readJsonBody(post(nested(10_000)), v.unknown()));
    expect([error.status, error.code, error.message]).toEqual([
      400,
      "invalid_json",
      "body nests deeper than 64 levels",
    ]);
    expect(await readJsonBody(post(nested(64)), v.unknown())).toBeDefined();
    expect((await thrown(readJsonBody(post(nested(65)), v.unknown()))).code).toBe("invalid_json");
  });

  it("counts objects and arrays, never brackets inside strings (escaped quotes included)", () => {
    expect(jsonTextNestsDeeperThan(`{"a":${nested(3)}}`, 4)).toBe(false);
    expect(jsonTextNestsDeeperThan(`{"a":${nested(4)}}`, 4)).toBe(true);
    expect(jsonTextNestsDeeperThan(`["${"[".repeat(100)}"]`, 2)).toBe(false);
    expect(jsonTextNestsDeeperThan(`["\\", ""[[[[[", [[1]]]`, 3)).toBe(false);
    expect(jsonTextNestsDeeperThan(`["\\", ""[[[[[", [[[1]]]]`, 3)).toBe(true);
    expect(jsonTextNestsDeeperThan(nested(2, '{"a":', "}"), 2)).toBe(false);
  });

  it("skipping strings with indexOf decides as the character-by-character scan did, on any text", () => {
    // The scan as it was first written: every character, a backslash in a string skipping the next one.
    const reference = (text: string, max: number): boolean => {
      let depth = 0;
      let inString = false;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (inString) {
          if (c === 0x5c) i++;
          else if (c === 0x22) inString = false;
        } else if (c === 0x22) inString = true;
        else if (c === 0x5b || c === 0x7b) {
          if (++depth > max) return true;
        } else if (c === 0x5d || c === 0x7d) depth--;
      }
      return false;
    };
    const piece = fc.constantFrom('"', "\\", "[", "]", "{", "}", "a", ",", ":", '\\"', "\\\\");
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 60 }).map((p) => p.join("")),
        fc.integer({ min: 0, max: 6 }),
        (text, max) => jsonTextNestsDeeperThan(text, max) === reference(text, max),
      ),
      { numRuns: 2000 },
    );
  });

  it("agrees with the value walk on parsed values, and the walk needs no recursion", () => {
    for (const depth of [0, 1, 5, 64, 65]) {
      const text = nested(depth);
      expect(nestsDeeperThan(depth === 0 ? 1 : JSON.parse(text))).toBe(jsonTextNestsDeeperThan(text));
    }
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    expect(nestsDeeperThan(deep)).toBe(true);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(nestsDeeperThan(cycle)).toBe(true);
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

describe("readBounded", () => {
  const chunksOf = (sizes: number[]) => sizes.map((n, i) => new Uint8Array(n).fill(i % 251));
  const joined = (chunks: Uint8Array[]) => {
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
    let off = 0;
    for (const c of chunks) {
      out.set(c, off);
      off += c.byteLength;
    }
    return out;
  };
  const same = (a: Uint8Array, b: Uint8Array) =>
    a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
  // A byte stream (read into one buffer) and a default stream (chunk by chunk) of the same chunks.
  const byteStream = (chunks: Uint8Array[]) =>
    new ReadableStream({
      type: "bytes",
      pull(c) {
        const next = chunks.shift();
        if (next) c.enqueue(next.slice());
        else c.close();
      },
    });
  const plainStream = (chunks: Uint8Array[]) =>
    new ReadableStream<Uint8Array>({
      pull(c) {
        const next = chunks.shift();
        if (next) c.enqueue(next.slice());
        else c.close();
      },
    });

  it("answers the whole body at most `max` bytes long, and null past it, for both kinds of stream", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 50_000 }), { maxLength: 5 }),
        fc.integer({ min: 0, max: 150_000 }),
        async (sizes, max) => {
          const total = sizes.reduce((n, x) => n + x, 0);
          const want = joined(chunksOf(sizes));
          for (const stream of [byteStream, plainStream]) {
            const got = await readBounded(stream(chunksOf(sizes)), max);
            if (total > max) expect(got).toBeNull();
            else expect(got !== null && same(got, want)).toBe(true);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("reads a response body and a request body (workerd's byte streams) whole, and none for no body", async () => {
    const bytes = new Uint8Array(300_000).map((_, i) => i % 256);
    // Larger than the first buffer: read through its growth.
    const got = await readBounded(new Response(bytes).body, bytes.byteLength);
    expect(got !== null && same(got, bytes)).toBe(true);
    expect(await readBounded(new Response(bytes).body, bytes.byteLength - 1)).toBeNull();
    expect(await readBounded(post("abc").body, 3)).toEqual(new TextEncoder().encode("abc"));
    expect(await readBounded(null, 0)).toEqual(new Uint8Array());
  });
});
