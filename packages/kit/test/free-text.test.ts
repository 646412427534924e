import { FreeText, luhnValid, sensitiveDataInJson, sensitiveKindIn } from "@paulp/contracts";
import {
  anthropicKeyShaped,
  apiKeyAssignmentShaped,
  awsAccessKeyIdShaped,
  bearerHeaderShaped,
  githubTokenShaped,
  jwtShaped,
  pemPrivateKeyHeader,
} from "@paulp/testing/key-shapes";
import fc from "fast-check";
import * as v from "valibot";
import { describe, expect, it } from "vitest";

// Key-shaped fixtures come from @paulp/testing/key-shapes, assembled at run time: none is a real key.

/** Append the Luhn check digit to a digit string. */
function withCheckDigit(body: string): string {
  for (let d = 0; d <= 9; d++) if (luhnValid(`${body}${d}`)) return `${body}${d}`;
  throw new Error("unreachable");
}

describe("sensitive data detectors (the specification: no passwords, card numbers or personal ids)", () => {
  it("finds card numbers of every network and length, however grouped, inside text", () => {
    const card = fc
      .tuple(
        fc.constantFrom("4", "51", "55", "2221", "2720", "34", "37", "6011", "65", "35", "62"),
        fc.integer({ min: 13, max: 19 }),
        fc.stringMatching(/^\d{19}$/),
      )
      .map(([prefix, length, filler]) => withCheckDigit((prefix + filler).slice(0, length - 1)));
    fc.assert(
      fc.property(card, fc.constantFrom("", " ", "-"), fc.string({ maxLength: 20 }), (number, sep, words) => {
        const grouped = number.match(/.{1,4}/g)!.join(sep);
        expect(sensitiveKindIn(`${words.replace(/\d/g, "")} ${grouped} paid`)).toBe("payment_card");
      }),
      { numRuns: 500 },
    );
  });

  it("passes ordinary trading text: ids, tickers, prices, dates, long numbers, Luhn-invalid numbers", () => {
    for (const text of [
      "KXFEDDECISION-26DEC-C25",
      "Fed cut Dec 2026: max 1500 contracts @ 0.56",
      "2026-12-01T12:00:00Z",
      "71321045679252212594626385532706912750332728571942532289631379312455583992563",
      "4111 1111 1111 1112", // fails Luhn
      "1234567812345670", // Luhn-valid, but no card network starts with 1
      "+1 415 555 2671",
      "the secret: keep it small; pin the hedge",
      "password reset is not our business",
      "sk-tuning of the model",
    ]) {
      expect(sensitiveKindIn(text), text).toBeNull();
    }
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 32 }), (bytes) => {
        const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
        const b64 = btoa(String.fromCharCode(...bytes))
          .replaceAll("+", "-")
          .replaceAll("/", "_")
          .replaceAll("=", "");
        // Generated ids (hex, base64url) glue digits to letters: no standalone card-length digit run.
        if (/[a-f]/.test(hex)) expect(sensitiveKindIn(`0x${hex}`)).toBeNull();
        if (/[A-Za-z_]/.test(b64) && !/(^|[^A-Za-z0-9_])\d{13,}/.test(b64))
          expect(sensitiveKindIn(b64)).toBeNull();
      }),
      { numRuns: 500 },
    );
  });

  it("finds national ids, password assignments and secrets", () => {
    for (const [text, kind] of [
      ["ssn 123-45-6789", "national_id"],
      ["123 45 6789", "national_id"],
      ["SSN: 123456789", "national_id"],
      ["NINO AB 12 34 56 C", "national_id"],
      ["SIN 130 692 544", "national_id"],
      ["password=hunter2", "password"],
      ["passwd: Tr0ub4dor&3", "password"],
      ["PIN = 4821", "password"],
      [apiKeyAssignmentShaped(), "password"],
      ["https://alice:s3cret@example.com/x", "password"],
      [pemPrivateKeyHeader("RSA"), "secret"],
      [bearerHeaderShaped(), "secret"],
      [anthropicKeyShaped(), "secret"],
      [awsAccessKeyIdShaped(), "secret"],
      [githubTokenShaped(), "secret"],
      [jwtShaped(), "secret"],
    ] as const) {
      expect(sensitiveKindIn(text), text).toBe(kind);
    }
    // Numbers the SSA never issues are not SSNs.
    for (const text of ["000-12-3456", "666-12-3456", "900-12-3456", "123-00-4567", "123-45-0000"]) {
      expect(sensitiveKindIn(text), text).toBeNull();
    }
  });

  it("walks JSON: names, strings, numbers and credential members, naming the path", () => {
    expect(sensitiveDataInJson({ a: [{ b: "x" }, { c: "card 4111111111111111" }] })).toEqual({
      keys: ["a", 1, "c"],
      kind: "payment_card",
    });
    expect(sensitiveDataInJson({ n: 4111111111111111 })).toEqual({ keys: ["n"], kind: "payment_card" });
    expect(sensitiveDataInJson({ Password: "x1" })).toEqual({ keys: ["Password"], kind: "password" });
    expect(sensitiveDataInJson({ "4111 1111 1111 1111": 1 })?.kind).toBe("payment_card");
    expect(sensitiveDataInJson({ pin: null, password: "", limits: { maxQty: 1500 } })).toBeNull();
  });

  it("FreeText names the field and never repeats the value", () => {
    const schema = v.object({ note: FreeText(100) });
    const result = v.safeParse(schema, { note: "card 4111 1111 1111 1111" });
    expect(result.success).toBe(false);
    if (!result.success) {
      expect(v.getDotPath(result.issues[0])).toBe("note");
      expect(result.issues[0].message).toMatch(/^looks like a payment card number/);
      expect(result.issues[0].message).not.toContain("4111");
    }
    expect(v.safeParse(schema, { note: "x".repeat(101) }).success).toBe(false);
  });
});
