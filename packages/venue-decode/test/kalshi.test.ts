import fc from "fast-check";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import {
  isKalshiMarket,
  isKalshiMarketsPage,
  KalshiMarket,
  KalshiMarketsPage,
  kalshiRows,
  parseBody,
  parseKalshiMarkets,
} from "../src";

// Values near every boundary of the Kalshi market schema, valid and not.
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.constantFrom(
    "",
    " ",
    "a".repeat(32),
    "a".repeat(33),
    "a".repeat(128),
    "a".repeat(129),
    "a".repeat(1001),
  ),
);
const maybe = <T>(a: fc.Arbitrary<T>) => fc.oneof(a, fc.constant(null), fc.constant(undefined));
const anyJson = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({}));
const ticker = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/),
  text,
  fc.constantFrom("KX-1.A_b", "a".repeat(128), "a".repeat(129), "KX 1", "KX\n"),
);
const dollar = fc.oneof(
  fc.stringMatching(/^\d{1,9}(\.\d{1,6})?$/),
  fc.constantFrom("0.5600", "1.0000", "0.56", "12", "0.1234567", ".5", "1.", "-0.1", "0.5600\n", "٠.٥٦٠٠"),
  text,
);
const time = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom("2027-02-15T14:00:00Z", "2027-02-30T00:00:00.000Z", "not a time", "", "2027"),
  text,
);
const longText = fc.oneof(text, fc.constantFrom("r".repeat(20_000), "r".repeat(20_001)));
const market = fc.record(
  {
    ticker,
    event_ticker: text,
    market_type: fc.oneof(fc.constantFrom("binary", "scalar", "other"), text),
    title: maybe(text),
    yes_sub_title: maybe(text),
    status: text,
    close_time: maybe(time),
    rules_primary: maybe(longText),
    rules_secondary: maybe(longText),
    yes_bid_dollars: maybe(dollar),
    yes_ask_dollars: maybe(dollar),
    last_price_dollars: maybe(dollar),
    volume_fp: fc.string(),
  },
  { requiredKeys: [] },
);
// Mutations: drop JSON-incompatible undefined members (a body is JSON), or replace a member by any JSON value.
const strip = (m: Record<string, unknown>) => JSON.parse(JSON.stringify(m)) as Record<string, unknown>;
const mutated = fc
  .tuple(
    market,
    fc.option(fc.constantFrom(...Object.keys(KalshiMarket.entries)), {
      nil: undefined,
    }),
    anyJson,
  )
  .map(([m, key, value]) => {
    const out = strip(m);
    if (key !== undefined) out[key] = value;
    return out;
  });
const validMarket = fc
  .record({
    ticker: fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/),
    event_ticker: fc.string({ minLength: 1, maxLength: 30 }),
    market_type: fc.constant("binary"),
    title: fc.string({ minLength: 1, maxLength: 60 }),
    status: fc.constantFrom("active", "closed", "finalized"),
    close_time: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    yes_bid_dollars: fc.stringMatching(/^0\.\d{4}$/),
  })
  .map(strip);
// A valid market with one member replaced by a value near some boundary (the sharpest test of the fast path).
const keys = Object.keys(KalshiMarket.entries);
const nearMiss = fc
  .tuple(
    validMarket,
    fc.constantFrom(...keys),
    fc.oneof(text, dollar, time, longText, ticker, anyJson, fc.constant(undefined)),
  )
  .map(([m, key, value]) => strip({ ...m, [key]: value }));
const page = fc.record(
  {
    markets: fc.oneof(fc.array(fc.oneof(mutated, validMarket, nearMiss), { maxLength: 4 }), anyJson),
    cursor: fc.oneof(fc.string({ maxLength: 8 }), fc.constant(null), fc.integer()),
  },
  { requiredKeys: [] },
);
const encode = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));

describe("isKalshiMarket (the fast path of the market schema)", () => {
  it("accepts only what valibot accepts, and then normalises to the same rows", () => {
    fc.assert(
      fc.property(fc.oneof(mutated, validMarket, nearMiss, anyJson), (x) => {
        const json = JSON.parse(JSON.stringify(x ?? null)) as unknown;
        const slow = v.safeParse(KalshiMarket, json);
        if (isKalshiMarket(json)) {
          expect(slow.success).toBe(true);
          expect(kalshiRows([json], new Map())).toEqual(kalshiRows([slow.output as KalshiMarket], new Map()));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("takes the fast path for markets valibot accepts (so the fast path is the usual one)", () => {
    fc.assert(
      fc.property(validMarket, (m) => {
        expect(v.safeParse(KalshiMarket, m).success).toBe(true);
        expect(isKalshiMarket(m)).toBe(true);
      }),
    );
  });

  it("every market of a page is kept, skipped by design or named as unrepresentable with valibot's reason", () => {
    fc.assert(
      fc.property(page, (x) => {
        const parsed = parseBody(KalshiMarketsPage, encode(x), isKalshiMarketsPage);
        if (!parsed.ok) return;
        const out = parseKalshiMarkets(parsed.value);
        expect(out.markets.length + out.skips.length).toBe(parsed.value.markets.length);
        for (const s of out.skips)
          if (s.reason === "schema") expect(s.detail?.length).toBeGreaterThan(0);
          else expect(s.reason).toBe("scalar");
      }),
      { numRuns: 1000 },
    );
  });

  it("refuses a venue answer nesting deeper than any real one, before anything recursive touches it", () => {
    const good = { ticker: "KX-1", event_ticker: "KX", title: "t", status: "active" };
    // 200,000 levels in an ignored field: 400 KB, valid JSON, and the schema alone would let it through. JSON.parse
    // takes it (it is not recursive); the depth walk refuses it before the guard, valibot or a serialiser sees it.
    const deep = `${"[".repeat(200_000)}${"]".repeat(200_000)}`;
    const bytes = new TextEncoder().encode(`{"markets":[${JSON.stringify(good)}],"cursor":"","x":${deep}}`);
    for (const fast of [isKalshiMarketsPage, undefined]) {
      expect(parseBody(KalshiMarketsPage, bytes, fast)).toEqual({
        ok: false,
        kind: "malformed_json",
        detail: "nests deeper than 64 levels",
      });
    }
    // Depth 64 itself is fine.
    const edge = `${"[".repeat(63)}${"]".repeat(63)}`;
    const ok = new TextEncoder().encode(`{"markets":[${JSON.stringify(good)}],"cursor":"","x":${edge}}`);
    expect(parseBody(KalshiMarketsPage, ok, isKalshiMarketsPage).ok).toBe(true);
  });

  it("a bad market is skipped and named; the page, its cursor and the other markets go on", () => {
    const good = {
      ticker: "KX-1",
      event_ticker: "KX",
      market_type: "binary",
      title: "t",
      status: "active",
      close_time: "2027-01-01T00:00:00Z",
    };
    const r = parseBody(
      KalshiMarketsPage,
      encode({ markets: [good, good, { ...good, ticker: "KX-2", yes_bid_dollars: "-1" }], cursor: "next" }),
      isKalshiMarketsPage,
    );
    if (!r.ok) throw new Error(r.detail);
    const out = parseKalshiMarkets(r.value);
    expect(out.markets).toHaveLength(2);
    expect(out.next).toBe("next");
    expect(out.skips).toEqual([
      { id: "KX-2", reason: "schema", detail: "yes_bid_dollars: must be a price from 0 to 1" },
    ]);
    // A contract pays at most $1: a "price" above it is a broken answer, refused like any other.
    for (const bad of ["5.0000", "1.0001", "1.5"])
      expect(v.safeParse(KalshiMarket, { ...good, yes_ask_dollars: bad }).success).toBe(false);
    for (const fine of ["0", "0.5600", "1", "1.0000"])
      expect(v.safeParse(KalshiMarket, { ...good, yes_ask_dollars: fine }).success).toBe(true);
    // Only a page that is not a page at all is refused whole.
    expect(parseBody(KalshiMarketsPage, encode({ markets: {} }), isKalshiMarketsPage)).toMatchObject({
      ok: false,
    });
  });
});
