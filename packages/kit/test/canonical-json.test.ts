import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CanonicalJsonError, canonicalJson, isCanonicalJsonText } from "../src/canonical-json";

function fromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe("canonicalJson (RFC 8785)", () => {
  // RFC 8785 Appendix B: IEEE 754 bit patterns and their required serialisation.
  const numberVectors: [string, string][] = [
    ["0000000000000000", "0"],
    ["8000000000000000", "0"],
    ["0000000000000001", "5e-324"],
    ["8000000000000001", "-5e-324"],
    ["7fefffffffffffff", "1.7976931348623157e+308"],
    ["ffefffffffffffff", "-1.7976931348623157e+308"],
    ["4340000000000000", "9007199254740992"],
    ["c340000000000000", "-9007199254740992"],
    ["4430000000000000", "295147905179352830000"],
    ["44b52d02c7e14af5", "9.999999999999997e+22"],
    ["44b52d02c7e14af6", "1e+23"],
    ["44b52d02c7e14af7", "1.0000000000000001e+23"],
    ["444b1ae4d6e2ef4e", "999999999999999700000"],
    ["444b1ae4d6e2ef4f", "999999999999999900000"],
    ["444b1ae4d6e2ef50", "1e+21"],
    ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
    ["3eb0c6f7a0b5ed8d", "0.000001"],
    ["41b3de4355555553", "333333333.3333332"],
    ["41b3de4355555554", "333333333.33333325"],
    ["41b3de4355555555", "333333333.3333333"],
    ["41b3de4355555556", "333333333.3333334"],
    ["41b3de4355555557", "333333333.33333343"],
    ["becbf647612f3696", "-0.0000033333333333333333"],
    ["43143ff3c1cb0959", "1424953923781206.2"],
  ];

  it.each(numberVectors)("serialises the number with bits %s as %s", (bits, expected) => {
    expect(canonicalJson(fromBits(bits))).toBe(expected);
  });

  it.each(["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])(
    "rejects the non-finite bits %s",
    (bits) => {
      expect(() => canonicalJson(fromBits(bits))).toThrow(CanonicalJsonError);
    },
  );

  it("sorts properties by UTF-16 code units (RFC 8785 §3.2.3 example)", () => {
    const input = JSON.parse(
      '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One",' +
        '"\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}',
    );
    const values = Object.values(JSON.parse(canonicalJson(input)) as Record<string, string>);
    // Object.values would reorder "1" first (integer key); read the order from the text instead.
    const order = [...canonicalJson(input).matchAll(/:"([^"]+)"/g)].map((m) => m[1]);
    expect(order).toEqual([
      "Carriage Return",
      "One",
      "Control",
      "Latin Small Letter O With Diaeresis",
      "Euro Sign",
      "Emoji: Grinning Face",
      "Hebrew Letter Dalet With Dagesh",
    ]);
    expect(values).toHaveLength(7);
  });

  it("produces the RFC 8785 §3.2.2 example output byte for byte", () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    );
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it("sorts nested objects and keeps array order", () => {
    expect(canonicalJson({ b: [3, { z: 1, a: 2 }], a: "x" })).toBe('{"a":"x","b":[3,{"a":2,"z":1}]}');
  });

  it("rejects lone surrogates in values and in keys, but accepts paired ones", () => {
    expect(() => canonicalJson("\ud800")).toThrow(/lone surrogate/);
    expect(() => canonicalJson("a\udc00b")).toThrow(/lone surrogate/);
    expect(() => canonicalJson({ "\ud83d": 1 })).toThrow(/lone surrogate/);
    expect(canonicalJson("\ud83d\ude00")).toBe('"😀"');
  });

  it("rejects NaN, Infinity, undefined members, bigints, functions and class instances, naming the path", () => {
    expect(() => canonicalJson({ a: [1, Number.NaN] })).toThrow(/\$\.a\[1\]/);
    expect(() => canonicalJson({ a: Number.NEGATIVE_INFINITY })).toThrow(CanonicalJsonError);
    expect(() => canonicalJson({ a: undefined })).toThrow(/undefined/);
    expect(() => canonicalJson(10n)).toThrow(CanonicalJsonError);
    expect(() => canonicalJson(() => 1)).toThrow(CanonicalJsonError);
    expect(() => canonicalJson(new Date(0))).toThrow(/plain objects/);
  });
});

/** The definition isCanonicalJsonText must agree with. */
function reference(text: string): boolean {
  try {
    return canonicalJson(JSON.parse(text)) === text;
  } catch {
    return false;
  }
}

describe("isCanonicalJsonText", () => {
  // Plain and full-Unicode strings (keys too); values JCS cannot represent (lone surrogates) are left out.
  const jsonValue = fc
    .oneof(fc.jsonValue({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 4, stringUnit: "binary" }))
    .filter((v) => {
      try {
        canonicalJson(v);
        return true;
      } catch {
        return false;
      }
    });

  it("accepts the RFC 8785 example output and every canonical number vector", () => {
    expect(
      isCanonicalJsonText(
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
      ),
    ).toBe(true);
    for (const text of [
      "0",
      "5e-324",
      "-1.7976931348623157e+308",
      "295147905179352830000",
      "1e+21",
      "0.000001",
    ])
      expect(isCanonicalJsonText(text)).toBe(true);
  });

  it("accepts canonicalJson of any JSON value", () => {
    fc.assert(
      fc.property(jsonValue, (v) => {
        expect(isCanonicalJsonText(canonicalJson(v))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("agrees with canonicalJson(JSON.parse(text)) === text on mutated and re-serialised texts", () => {
    const mutated = fc
      .tuple(
        jsonValue,
        fc.nat(),
        fc.constantFrom(" ", "\\", '"', ",", "0", "-", "e", "\\u0041", "}", "\ud800", "\\/"),
      )
      .map(([v, at, ins]) => {
        const t = canonicalJson(v);
        const i = at % (t.length + 1);
        return t.slice(0, i) + ins + t.slice(i);
      });
    const deleted = fc.tuple(jsonValue, fc.nat()).map(([v, at]) => {
      const t = canonicalJson(v);
      const i = at % Math.max(1, t.length);
      return t.slice(0, i) + t.slice(i + 1);
    });
    const other = fc.oneof(
      jsonValue.map((v) => JSON.stringify(v)),
      jsonValue.map((v) => JSON.stringify(v, null, 1)),
      fc.string({ unit: "binary" }),
    );
    fc.assert(
      fc.property(fc.oneof(mutated, deleted, other), (text) => {
        expect(isCanonicalJsonText(text)).toBe(reference(text));
      }),
      { numRuns: 3000 },
    );
  });

  it("rejects each way a text can miss canonical form", () => {
    const cases: [string, boolean][] = [
      ['{"a":1,"b":2}', true],
      ['{"b":1,"a":2}', false], // unsorted
      ['{"a":1,"a":2}', false], // duplicate
      ['{"10":1,"9":2}', true], // UTF-16 order, not integer order
      ['{"9":1,"10":2}', false],
      ['{"a\\"":1,"a\\\\":2}', true], // '"' (0x22) sorts before '\\' (0x5c)
      ['{"a\\\\":1,"a\\"":2}', false],
      ['{"\\u001f":1,"a":2}', true],
      ['{"a":1 }', false],
      ["[1,2]", true],
      ["[1,2,]", false],
      ["1.0", false],
      ["-0", false],
      ["1E+21", false],
      ["1e21", false],
      ["01", false],
      ["100000000000000000000", true],
      ["1e+400", false],
      ['"\\u0041"', false],
      ['"\\/"', false],
      ['"\\u000a"', false],
      ['"\\n"', true],
      ['"\\u001F"', false],
      ['"\\u001f"', true],
      ['"\\ud83d\\ude00"', false],
      ['"\ud83d\ude00"', true],
      ['"\ud83d"', false],
      ['"\ude00x"', false],
      ['"a\tb"', false], // raw control character
      ["tru", false],
      ["nulll", false],
      ["", false],
    ];
    for (const [text, expected] of cases) {
      expect([text, isCanonicalJsonText(text)]).toEqual([text, expected]);
      expect([text, reference(text)]).toEqual([text, expected]);
    }
  });

  it("checks a span of a longer text without copying it", () => {
    const line = 'xx{"a":[1,"b"]}yy';
    expect(isCanonicalJsonText(line, 2, line.length - 2)).toBe(true);
    expect(isCanonicalJsonText(line, 2, line.length - 3)).toBe(false);
    expect(isCanonicalJsonText('"ab"', 0, 3)).toBe(false);
  });
});

describe("arrays with holes", () => {
  it("are refused: a hole has no JSON form (map would skip it and leave invalid text)", () => {
    const holey: unknown[] = [];
    holey[1] = 1;
    expect(() => canonicalJson(holey)).toThrow(CanonicalJsonError);
    // biome-ignore lint/suspicious/noSparseArray: the hole is what is tested
    expect(() => canonicalJson({ a: [1, , 3] })).toThrow(/a\[1\]: arrays with holes/);
    expect(canonicalJson([1, null, 3])).toBe("[1,null,3]");
  });
});
