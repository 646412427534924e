// Polymarket conformance of ingestion's clients: the requests they send are the official SDK's requests, and
// the parsers are fed fixtures typed as Polymarket's own models (`@polymarket/bindings`' raw gamma market,
// `@polymarket/clob-client`'s `OrderBookSummary`), every optional or nullable field absent or null in turn.

import {
  ClobBook,
  clobYesBook,
  GammaKeysetPage,
  GammaMarket,
  gammaPage,
  parseBody,
} from "@paulp/venue-decode";
import {
  CLOB_BOOK_FIELDS,
  CLOB_PATHS,
  type ClobBookWire,
  GAMMA_MARKET_FIELDS,
  type GammaKeysetPageWire,
  type GammaMarketWire,
  gammaMarketIssues,
  officialListMarketsRequest,
} from "@paulp/venue-models";
import type * as v from "valibot";
import { beforeEach, describe, expect, it } from "vitest";
import { fetchFreshBook } from "../src/books";
import { runVenue } from "../src/pipeline";
import { count, onlySkipAudit, resetAll, tenv, testDeps } from "./helpers";

beforeEach(resetAll);

const CONDITION = `0x${"ab".repeat(32)}`;

/** A tidy binary market as gamma serves it. */
const base = {
  id: "512345",
  question: "Will CPI be above 3% in May 2027?",
  conditionId: CONDITION,
  slug: "cpi-above-3-may-2027",
  description: "Resolves Yes if the BLS CPI-U YoY for May 2027 is above 3.0%.",
  resolutionSource: "https://www.bls.gov",
  endDate: "2027-06-15T14:00:00Z",
  category: "Economics",
  active: true,
  closed: false,
  outcomes: '["Yes","No"]',
  outcomePrices: '["0.41","0.59"]',
  clobTokenIds: '["1111","2222"]',
  bestBid: 0.4,
  bestAsk: "0.42",
  lastTradePrice: 0.41,
  events: [{ id: 90123, slug: "cpi-may-2027", title: "CPI May 2027" }],
  volumeNum: 1234.5,
  orderPriceMinTickSize: 0.01,
} satisfies GammaMarketWire;

const encode = (body: unknown) => new TextEncoder().encode(JSON.stringify(body));

/** Parse one keyset page through ingestion's parser. */
function parsePage(page: GammaKeysetPageWire) {
  const parsed = parseBody(GammaKeysetPage, encode(page));
  if (!parsed.ok) throw new Error(`${parsed.kind}: ${parsed.detail}`);
  return gammaPage(parsed.value);
}

/** Pipeline deps whose every request is kept as sent. */
function recording() {
  const sent: Request[] = [];
  const deps = testDeps();
  const inner = deps.fetch;
  deps.fetch = (input, init) => {
    sent.push(new Request(input, init));
    return inner(input, init);
  };
  return { deps, sent };
}

const json = (body: unknown) =>
  new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });

describe("ingestion reads only what Polymarket's models define", () => {
  it("every gamma field read is a field of the bindings' GammaMarketSchema; every book field of OrderBookSummary", () => {
    // Type level: a key of our schema missing from the official model is a compile error here.
    const gammaKeys: Exclude<keyof v.InferInput<typeof GammaMarket>, keyof GammaMarketWire>[] = [];
    const bookKeys: Exclude<keyof v.InferInput<typeof ClobBook>, keyof ClobBookWire>[] = [];
    const pageKeys: Exclude<keyof v.InferInput<typeof GammaKeysetPage>, keyof GammaKeysetPageWire>[] = [];
    expect([...gammaKeys, ...bookKeys, ...pageKeys]).toEqual([]);
    // Run time: the same, for the schemas as built.
    for (const k of Object.keys(GammaMarket.entries)) expect(GAMMA_MARKET_FIELDS).toContain(k);
    for (const k of Object.keys(ClobBook.entries)) expect(CLOB_BOOK_FIELDS).toContain(k);
    expect(Object.keys(GammaKeysetPage.entries)).toEqual(["markets", "next_cursor"]);
  });

  it("the fixture is a market Polymarket's own schema accepts", () => {
    expect(gammaMarketIssues(base)).toEqual([]);
  });

  it("each official field absent, then null: never a throw, and only the fields we read change the outcome", () => {
    const reference = parsePage({ markets: [base] });
    expect(reference.rows).toHaveLength(1);
    const read = new Set(Object.keys(GammaMarket.entries));
    for (const field of GAMMA_MARKET_FIELDS) {
      const { [field as keyof typeof base]: _dropped, ...absent } = base;
      const variants: Record<string, unknown>[] = [absent, { ...base, [field]: null }];
      for (const variant of variants) {
        // Only what Polymarket's own schema accepts is a fixture (e.g. `id` is required).
        if (gammaMarketIssues(variant).length > 0) continue;
        const page = parsePage({ markets: [variant as GammaMarketWire] });
        expect(page.rows.length + page.skips.length).toBe(1);
        if (!read.has(field)) expect(page).toEqual(reference);
      }
    }
  });

  it("question, conditionId and outcomes null or empty are skipped with their reason; the rest of the page is kept", () => {
    const page = parsePage({
      markets: [
        { ...base, id: "1", question: null },
        { ...base, id: "2", question: "" },
        { ...base, id: "3", conditionId: null },
        { ...base, id: "4", conditionId: "" },
        { ...base, id: "5", outcomes: null, clobTokenIds: null },
        { ...base, id: "6", outcomes: "[]" },
        { ...base, id: "7", outcomes: '["Up","Down"]' },
        { ...base, id: "8", outcomes: "not json" },
        { ...base, id: "9", conditionId: `0x${"cd".repeat(32)}` },
      ],
      next_cursor: "abc",
    });
    expect(page.skips).toEqual([
      { id: "1", reason: "no_question" },
      { id: "2", reason: "no_question" },
      { id: "3", reason: "no_condition_id" },
      { id: "4", reason: "no_condition_id" },
      { id: "5", reason: "no_outcomes" },
      { id: "6", reason: "no_outcomes" },
      { id: "7", reason: "not_yes_no" },
      { id: "8", reason: "schema", detail: expect.stringContaining("outcomes") },
    ]);
    expect(page.rows.map((r) => r.marketId)).toEqual([`0x${"cd".repeat(32)}`]);
    expect(page.next).toBe("abc");
  });

  it("bestBid, bestAsk and lastTradePrice as strings or numbers read the same; null or absent is no price", () => {
    const asNumbers = parsePage({
      markets: [{ ...base, bestBid: 0.4, bestAsk: 0.42, lastTradePrice: 0.41 }],
    });
    const asStrings = parsePage({
      markets: [{ ...base, bestBid: "0.4", bestAsk: "0.42", lastTradePrice: "0.41" }],
    });
    expect(asStrings.rows).toEqual(asNumbers.rows);
    expect(asNumbers.rows[0]).toMatchObject({ yesBid: "0.4000", yesAsk: "0.4200", lastPrice: "0.4100" });
    const none = parsePage({
      markets: [{ ...base, bestBid: null, bestAsk: "", lastTradePrice: null, outcomePrices: null }],
    });
    expect(none.rows[0]).toMatchObject({ yesBid: null, yesAsk: null, lastPrice: null });
    // The bindings accept the list fields as arrays too.
    const arrays = parsePage({
      markets: [
        { ...base, outcomes: ["Yes", "No"], clobTokenIds: ["1111", "2222"], outcomePrices: ["0.41", "0.59"] },
      ],
    });
    expect(arrays.rows).toEqual(asNumbers.rows);
  });

  it("a keyset page without next_cursor is the last; with one it is not, however short", () => {
    expect(parsePage({ markets: [] }).next).toBeNull();
    expect(parsePage({ markets: [], next_cursor: "c2" }).next).toBe("c2");
    // The bindings type next_cursor as an optional non-empty cursor: null or "" is not a page.
    for (const next_cursor of [null, ""]) {
      expect(parseBody(GammaKeysetPage, encode({ markets: [], next_cursor })).ok).toBe(false);
    }
  });

  it("the CLOB book as clob-client types it, and with the fields the bindings make nullable absent", () => {
    const book = {
      market: CONDITION,
      asset_id: "1111",
      timestamp: "1764600000000",
      bids: [
        { price: "0.39", size: "120" },
        { price: "0.40", size: "80.5" },
      ],
      asks: [
        { price: "0.43", size: "50" },
        { price: "0.42", size: "10" },
      ],
      min_order_size: "5",
      tick_size: "0.01",
      neg_risk: false,
      last_trade_price: "0.41",
      hash: "0".repeat(40),
    } satisfies ClobBookWire;
    const { timestamp: _t, last_trade_price: _l, ...lean } = book;
    for (const body of [book, lean, { ...book, timestamp: null, last_trade_price: null }]) {
      const parsed = parseBody(ClobBook, encode(body));
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) continue;
      // Best first on both sides, prices at four decimals (clob-client lists the best last).
      const bestFirst = (levels: { price: string; size: string }[]) =>
        levels.map((l) => ({ price: l.price.padEnd(6, "0"), size: l.size })).reverse();
      expect(clobYesBook(parsed.value)).toEqual({ bids: bestFirst(book.bids), asks: bestFirst(book.asks) });
    }
  });
});

describe("ingestion's requests are the official SDK's", () => {
  it("gamma: GET /markets/keyset?closed=false&limit=…&after_cursor=…, no headers but accept", async () => {
    const { deps, sent } = recording();
    const { report } = await runVenue(deps, "polymarket", { maxPages: 3, pageSize: 500 });
    expect(report).toMatchObject({ outcome: "ok", pages: 3, passCompleted: false });
    expect(sent).toHaveLength(3);
    const state = await tenv.D1_MARKETS.prepare(
      "SELECT cursor FROM ingest_state WHERE venue = 'polymarket'",
    ).first<{ cursor: string }>();
    const cursors: (string | undefined)[] = [undefined];
    for (const r of sent.slice(1)) cursors.push(new URL(r.url).searchParams.get("after_cursor") ?? "");
    cursors.forEach((cursor, i) => {
      const official = officialListMarketsRequest({
        closed: false,
        pageSize: 500,
        ...(cursor ? { cursor } : {}),
      });
      const u = new URL(sent[i]!.url);
      expect(`${u.origin}${u.pathname}`).toBe(`https://gamma-api.polymarket.com${official.path}`);
      expect(u.search).toBe(`?${official.query}`);
      expect([...sent[i]!.headers.keys()]).toEqual(["accept"]);
      expect(sent[i]!.method).toBe("GET");
    });
    // Each cursor sent is the one the server minted, and the stored one resumes the pass.
    expect(new Set(cursors.slice(1)).size).toBe(2);
    expect(state?.cursor).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it("CLOB: GET /book?token_id= (clob-client's getOrderBook), unauthenticated", async () => {
    await runVenue(testDeps(), "polymarket", { maxPages: 1, pageSize: 20 });
    const row = await tenv.D1_MARKETS.prepare(
      "SELECT market_id, outcome_tokens FROM markets WHERE venue = 'polymarket' LIMIT 1",
    ).first<{ market_id: string; outcome_tokens: string }>();
    const yes = (JSON.parse(row!.outcome_tokens) as string[])[0]!;
    const { deps, sent } = recording();
    const market = { venue: "polymarket", marketId: row!.market_id, outcomeTokens: [yes, "x"] } as never;
    expect((await fetchFreshBook(deps, market)).ok).toBe(true);
    expect(sent).toHaveLength(1);
    const u = new URL(sent[0]!.url);
    expect(`${u.origin}${u.pathname}`).toBe(`https://clob.polymarket.com${CLOB_PATHS.book}`);
    expect([...u.searchParams]).toEqual([["token_id", yes]]);
    expect([...sent[0]!.headers.keys()]).toEqual(["accept"]);
    // The book names its market: a book for the token under another condition id is not this market's.
    const other = {
      venue: "polymarket",
      marketId: `0x${"00".repeat(32)}`,
      outcomeTokens: [yes, "x"],
    } as never;
    expect(await fetchFreshBook(deps, other)).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining("another market") },
    });
  });
});

describe("one market we cannot represent never stalls a page, a cursor or a pass", () => {
  it("is skipped, counted and audited; the page commits and the cursor moves on", async () => {
    const page1: GammaKeysetPageWire = {
      markets: [
        base,
        { ...base, id: "2", question: null },
        { ...base, id: "3", conditionId: "" },
        { ...base, id: "4", outcomes: '["Up","Down"]' },
      ],
      next_cursor: "c2",
    };
    const page2: GammaKeysetPageWire = {
      markets: [{ ...base, id: "5", conditionId: `0x${"ef".repeat(32)}` }],
    };
    const deps = testDeps({
      fetch: async (input) =>
        json(new URL(String(input)).searchParams.get("after_cursor") === "c2" ? page2 : page1),
    });
    const first = await runVenue(deps, "polymarket", { maxPages: 1 });
    expect(first.report).toMatchObject({ outcome: "ok", stored: 1, fetched: 4, passCompleted: false });
    expect(first.report.errors).toEqual({ market_unrepresentable: 2 });
    expect(await onlySkipAudit()).toMatchObject({
      venue: "polymarket",
      count: 3,
      reasons: { no_question: 1, no_condition_id: 1, not_yes_no: 1 },
      markets: [
        { id: "2", reason: "no_question" },
        { id: "3", reason: "no_condition_id" },
        { id: "4", reason: "not_yes_no" },
      ],
    });
    const second = await runVenue(deps, "polymarket", { maxPages: 5 });
    expect(second.report).toMatchObject({ outcome: "ok", pages: 1, stored: 1, passCompleted: true });
    expect(await count("markets", "venue = 'polymarket'")).toBe(2);
  });

  it("a short page is not the last: the pass ends only where next_cursor is absent", async () => {
    const pages: Record<string, GammaKeysetPageWire> = {
      "": { markets: [base], next_cursor: "c2" },
      c2: { markets: [], next_cursor: "c3" },
      c3: { markets: [{ ...base, id: "7", conditionId: `0x${"77".repeat(32)}` }] },
    };
    const deps = testDeps({
      fetch: async (input) => json(pages[new URL(String(input)).searchParams.get("after_cursor") ?? ""]),
    });
    const { report } = await runVenue(deps, "polymarket", { maxPages: 10, pageSize: 500 });
    expect(report).toMatchObject({ outcome: "ok", pages: 3, stored: 2, passCompleted: true });
  });

  it("against the simulator: 500 asked, 100 served, and the pass goes on", async () => {
    const { report } = await runVenue(testDeps(), "polymarket", { maxPages: 2, pageSize: 500 });
    expect(report).toMatchObject({ outcome: "ok", pages: 2, fetched: 200, passCompleted: false });
  });

  it("a cursor the server does not advance, or refuses, starts the pass again instead of failing forever", async () => {
    const stuck = testDeps({ fetch: async () => json({ markets: [base], next_cursor: "same" }) });
    await tenv.D1_MARKETS.prepare(
      "INSERT INTO ingest_state (venue, cursor) VALUES ('polymarket', 'same')",
    ).run();
    const a = await runVenue(stuck, "polymarket", { maxPages: 3 });
    expect(a.report.outcome).toBe("failed");
    expect(a.report.errors).toMatchObject({ cursor_not_advancing: 1, cursor_reset: 1 });
    const after = () =>
      tenv.D1_MARKETS.prepare("SELECT cursor FROM ingest_state WHERE venue = 'polymarket'").first<{
        cursor: string | null;
      }>();
    expect(await after()).toEqual({ cursor: null });
    // A cursor from the offset era (or an expired one) is refused with 422 by the keyset endpoint.
    await tenv.D1_MARKETS.prepare("UPDATE ingest_state SET cursor = '1500' WHERE venue = 'polymarket'").run();
    const b = await runVenue(testDeps(), "polymarket", { maxPages: 1 });
    expect(b.report.errors).toMatchObject({ http_422: 1, cursor_reset: 1 });
    expect(await after()).toEqual({ cursor: null });
    const c = await runVenue(testDeps(), "polymarket", { maxPages: 1 });
    expect(c.report.outcome).toBe("ok");
  });
});
