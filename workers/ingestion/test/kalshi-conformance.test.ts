// Kalshi conformance, ingestion's side: every request it sends is checked against kalshi-typescript's documented
// operations and parameters (path, query, auth headers, signature: @paulp/kalshi-spec, whose table is checked
// against the SDK's docs), and its parser is fed fixtures typed as the official models, optional and nullable
// fields absent or null. The fixes each test pins down (crawl filters, series categories, signed order books,
// untitled and unrepresentable markets) are named in the test titles.

import { kalshiPublicKey, kalshiRequestProblems } from "@paulp/kalshi-spec";
import type { EgressFetch } from "@paulp/kit";
import type * as K from "kalshi-typescript";
import { beforeEach, describe, expect, it } from "vitest";
import { fetchFreshBook } from "../src/books";
import { getMarketRow } from "../src/market-queries";
import { runVenue } from "../src/pipeline";
import { ACTOR, auditEvents, count, onlySkipAudit, resetAll, tenv, testDeps } from "./helpers";
import {
  kalshiEventFixture,
  kalshiMarketFixture,
  kalshiSeriesFixture,
  kalshiStubFetch,
} from "./kalshi-fixtures";

beforeEach(resetAll);

interface Sent {
  method: string;
  url: string;
  headers: Headers;
  body: string | null;
}

/** The real egress to the simulator (or `real`), recording every request as sent. */
function recording(real: EgressFetch = testDeps().fetch): { fetch: EgressFetch; sent: Sent[] } {
  const sent: Sent[] = [];
  const fetch: EgressFetch = async (input, init) => {
    const url = typeof input === "string" ? input : input.href;
    sent.push({ method: init?.method ?? "GET", url, headers: new Headers(init?.headers), body: null });
    return real(input, init);
  };
  return { fetch, sent };
}

const readPublicKey = () => kalshiPublicKey(tenv.TEST_KALSHI_READ_PUBLIC_KEY);

describe("ingestion's Kalshi requests conform to the spec", () => {
  it("a crawl asks for open, single markets (status=open, mve_filter=exclude) and every read is a documented call", async () => {
    const { fetch, sent } = recording();
    const { report } = await runVenue(testDeps({ fetch }), "kalshi", { maxPages: 2, pageSize: 1000 });
    expect(report.outcome).toBe("ok");
    const publicKey = await readPublicKey();
    for (const r of sent) expect(await kalshiRequestProblems(r, { publicKey }), r.url).toEqual([]);
    const pages = sent.filter((r) => new URL(r.url).pathname.endsWith("/markets"));
    expect(pages.length).toBeGreaterThan(0);
    for (const p of pages) {
      const q = new URL(p.url).searchParams;
      expect([q.get("status"), q.get("mve_filter"), q.get("limit")]).toEqual(["open", "exclude", "1000"]);
    }
    // Series and events are read too: the category is the series'.
    expect(sent.some((r) => new URL(r.url).pathname.endsWith("/series"))).toBe(true);
    expect(sent.some((r) => new URL(r.url).pathname.endsWith("/events"))).toBe(true);
    // No market the crawl stored is closed or a combination.
    expect(await count("markets", "venue = 'kalshi' AND status != 'active'")).toBe(0);
  });

  it("the order book (authenticated in the spec) is signed with ingestion's own read-only key; public reads are not", async () => {
    const { fetch, sent } = recording();
    const deps = testDeps({ fetch });
    await runVenue(deps, "kalshi", { maxPages: 1, pageSize: 20 });
    const market = (await getMarketRow(tenv.D1_MARKETS, "kalshi", (await firstKalshiId())!, Date.now()))!;
    const book = await fetchFreshBook(deps, market);
    expect(book.ok).toBe(true);
    const bookReq = sent.find((r) => r.url.endsWith("/orderbook"))!;
    expect(bookReq.headers.get("KALSHI-ACCESS-KEY")).toBe(tenv.KALSHI_READ_API_KEY);
    expect(
      await kalshiRequestProblems(bookReq, { publicKey: await readPublicKey(), nowMs: Date.now() }),
    ).toEqual([]);
    for (const r of sent.filter((x) => !x.url.endsWith("/orderbook")))
      expect(r.headers.has("KALSHI-ACCESS-SIGNATURE"), r.url).toBe(false);
  });

  it("without a key of its own, ingestion sends the order book unsigned and Kalshi's 401 is an error, never data", async () => {
    await runVenue(testDeps(), "kalshi", { maxPages: 1, pageSize: 20 });
    const market = (await getMarketRow(tenv.D1_MARKETS, "kalshi", (await firstKalshiId())!, Date.now()))!;
    const book = await fetchFreshBook(testDeps({ kalshiSigner: null }), market);
    expect(book).toMatchObject({ ok: false, error: { code: "upstream_error" } });
    expect(await count("order_books")).toBe(0);
  });

  it("ingestion's key is read-only: the simulator refuses it an order (403)", async () => {
    const { createKalshiSigner } = await import("@paulp/kit");
    const signer = createKalshiSigner({
      keyId: tenv.KALSHI_READ_API_KEY,
      privateKeyPem: tenv.KALSHI_READ_PRIVATE_KEY,
      now: Date.now,
    })!;
    const url = "https://api.elections.kalshi.com/trade-api/v2/portfolio/events/orders";
    const res = await tenv.VENUE_SIM.fetch(url, {
      method: "POST",
      headers: { ...(await signer.headers("POST", url)), "content-type": "application/json" },
      body: JSON.stringify({
        ticker: "KXCPIYOY-27JAN-T1P0",
        client_order_id: "ingestion-must-not-trade",
        side: "bid",
        count: "1.00",
        price: "0.5000",
        time_in_force: "immediate_or_cancel",
        self_trade_prevention_type: "taker_at_cross",
      }),
    });
    expect(res.status).toBe(403);
  });
});

async function firstKalshiId(): Promise<string | null> {
  const r = await tenv.D1_MARKETS.prepare(
    "SELECT market_id FROM markets WHERE venue = 'kalshi' ORDER BY market_id LIMIT 1",
  ).first<{ market_id: string }>();
  return r?.market_id ?? null;
}

describe("ingestion's Kalshi parser, fed the official models", () => {
  const series = [
    kalshiSeriesFixture({ ticker: "KXECO", category: "Economics" }),
    kalshiSeriesFixture({ ticker: "KXBLANK", category: "", categories: [] }),
  ];
  const events = [
    // The event's own category is deprecated: present here, and different, to show it is never read.
    kalshiEventFixture({
      event_ticker: "KXECO-1",
      series_ticker: "KXECO",
      title: "Economy event",
      category: "Politics",
    }),
    kalshiEventFixture({ event_ticker: "KXBLANK-1", series_ticker: "KXBLANK", title: "Blank event" }),
    kalshiEventFixture({
      event_ticker: "KXGONE-1",
      series_ticker: "KXGONE",
      title: "Event of an unknown series",
    }),
  ];

  async function ingest(markets: object[]) {
    const fetch = kalshiStubFetch({ markets: { markets: markets as never, cursor: "" }, events, series });
    return runVenue(testDeps({ fetch }), "kalshi", { maxPages: 1 });
  }
  const row = (id: string) => getMarketRow(tenv.D1_MARKETS, "kalshi", id, Date.now());

  it("category is the series' (through the event), never the market's nor the event's; unknown or empty → none", async () => {
    const m = (ticker: string, event: string) => kalshiMarketFixture({ ticker, event_ticker: event });
    // A field the model does not have, present on the wire: never read.
    const invented = { ...m("KXECO-1-A", "KXECO-1"), category: "Sports", series_ticker: "KXBLANK" };
    const { report } = await ingest([
      invented,
      m("KXBLANK-1-A", "KXBLANK-1"),
      m("KXGONE-1-A", "KXGONE-1"),
      m("KXNONE-1-A", "KXNONE-1"),
    ]);
    expect(report).toMatchObject({ outcome: "ok", stored: 4 });
    expect(await row("KXECO-1-A")).toMatchObject({
      category: "Economics",
      seriesId: "KXECO",
      eventId: "KXECO-1",
    });
    expect(await row("KXBLANK-1-A")).toMatchObject({ category: null, seriesId: "KXBLANK" });
    expect(await row("KXGONE-1-A")).toMatchObject({ category: null, seriesId: "KXGONE" });
    expect(await row("KXNONE-1-A")).toMatchObject({ category: null, seriesId: null });
    // Risk hears each mark with the series' category or none (and so refuses the uncategorised: NO_CATEGORY).
    const marks = (await tenv.RISK._calls())
      .filter((c) => c.method === "recordMarks")
      .flatMap((c) => c.marks as { market: string; category: string | null }[]);
    expect(Object.fromEntries(marks.map((x) => [x.market, x.category]))).toEqual({
      "KXECO-1-A": "Economics",
      "KXBLANK-1-A": null,
      "KXGONE-1-A": null,
      "KXNONE-1-A": null,
    });
  });

  it("every optional field absent and every nullable one null: still stored (title from the event)", async () => {
    const bare = kalshiMarketFixture({
      ticker: "KXECO-1-BARE",
      event_ticker: "KXECO-1",
      yes_sub_title: "Above 3%",
    });
    for (const k of [
      "title",
      "subtitle",
      "expiration_time",
      "liquidity_dollars",
      "settlement_value_dollars",
      "strike_type",
      "mve_collection_ticker",
      "mve_selected_legs",
      "is_provisional",
      "exchange_index",
    ] as const)
      delete bare[k];
    const nulls = kalshiMarketFixture({
      ticker: "KXECO-1-NULL",
      event_ticker: "KXECO-1",
      expected_expiration_time: null,
      settlement_ts: null,
      occurrence_datetime: null,
      fee_waiver_expiration_time: null,
      early_close_condition: null,
      floor_strike: null,
      cap_strike: null,
      functional_strike: null,
      custom_strike: null,
      primary_participant_key: null,
    });
    const { report } = await ingest([bare, nulls]);
    expect(report).toMatchObject({ outcome: "ok", stored: 2 });
    expect((await row("KXECO-1-BARE"))?.title).toBe("Economy event: Above 3%");
    expect((await row("KXECO-1-NULL"))?.title).toBe("Fixture market");
  });

  it("one market it cannot represent is skipped, counted and audited; the page, its cursor and the pass go on", async () => {
    const good = kalshiMarketFixture({ ticker: "KXECO-1-OK", event_ticker: "KXECO-1" });
    const badClose = kalshiMarketFixture({ ticker: "KXECO-1-BAD", event_ticker: "KXECO-1", close_time: "" });
    const untitled = kalshiMarketFixture({ ticker: "KXNONE-1-NT", event_ticker: "KXNONE-1" });
    delete untitled.title;
    const scalar = kalshiMarketFixture({
      ticker: "KXECO-1-SC",
      event_ticker: "KXECO-1",
      market_type: "scalar",
    });
    const { report } = await ingest([badClose, good, untitled, scalar]);
    expect(report).toMatchObject({ outcome: "ok", pages: 1, fetched: 4, stored: 1, passCompleted: true });
    // The scalar market is skipped by design (listed, audited, not an error); the other two cannot be represented.
    expect(report.errors).toEqual({ market_unrepresentable: 2 });
    const audited = await onlySkipAudit();
    expect(audited).toMatchObject({
      venue: "kalshi",
      count: 3,
      reasons: { schema: 1, scalar: 1, no_title: 1 },
      markets: [
        { id: "KXECO-1-BAD", reason: "schema", detail: "close_time: must be a timestamp" },
        { id: "KXECO-1-SC", reason: "scalar", detail: null },
        { id: "KXNONE-1-NT", reason: "no_title", detail: "none of its own and its event is unknown" },
      ],
    });
    expect(audited.evidenceHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("a series created after the pass began is fetched on its own (GET /series/{ticker})", async () => {
    const seen: string[] = [];
    const late = kalshiSeriesFixture({ ticker: "KXLATE", category: "Climate and Weather" });
    const fetch = kalshiStubFetch({
      markets: {
        markets: [kalshiMarketFixture({ ticker: "KXLATE-1-A", event_ticker: "KXLATE-1" })],
        cursor: "",
      },
      events: [kalshiEventFixture({ event_ticker: "KXLATE-1", series_ticker: "KXLATE" })],
      series: [],
      seen,
    });
    // The list has nothing; the single-series read (served from the same stub's list) is then asked.
    const withLate = kalshiStubFetch({ markets: { markets: [], cursor: "" }, series: [late] });
    const deps = testDeps({
      fetch: async (input, init) =>
        String(input).includes("/series/") ? withLate(input, init) : fetch(input, init),
    });
    await runVenue(deps, "kalshi", { maxPages: 1 });
    expect(seen.some((s) => s.startsWith("/trade-api/v2/series?") || s === "/trade-api/v2/series")).toBe(
      true,
    );
    expect((await row("KXLATE-1-A"))?.category).toBe("Climate and Weather");
    expect(ACTOR.subject).toBeTruthy();
  });
});

describe("a Kalshi page's events are read with its stored states, once a run for those whose series is known", () => {
  const row = (id: string) => getMarketRow(tenv.D1_MARKETS, "kalshi", id, Date.now());
  it("a run reads a known event once; an event not stored, or of an unknown series, is looked up again on each page as before", async () => {
    const seen: string[] = [];
    const page = (suffix: string) =>
      ["KXECO-1", "KXGONE-1", "KXNONE-1"].map((e) =>
        kalshiMarketFixture({ ticker: `${e}-${suffix}`, event_ticker: e }),
      );
    const fetch = kalshiStubFetch({
      markets: (url) =>
        url.searchParams.get("cursor") === "2"
          ? { markets: page("B"), cursor: "" }
          : { markets: page("A"), cursor: "2" },
      events: [
        kalshiEventFixture({ event_ticker: "KXECO-1", series_ticker: "KXECO", title: "Economy event" }),
        kalshiEventFixture({
          event_ticker: "KXGONE-1",
          series_ticker: "KXGONE",
          title: "Event of an unknown series",
        }),
      ],
      series: [kalshiSeriesFixture({ ticker: "KXECO", category: "Economics" })],
      seen,
    });
    // The tickers of every read of stored events (the statement that joins them to their series).
    const eventReads: string[][] = [];
    const real = tenv.D1_MARKETS;
    const db = new Proxy(real, {
      get(target, key) {
        if (key !== "prepare") {
          const value = Reflect.get(target, key, target);
          return typeof value === "function" ? value.bind(target) : value;
        }
        return (sql: string) => {
          const statement = target.prepare(sql);
          if (!sql.includes("FROM kalshi_events e")) return statement;
          return {
            bind: (...args: unknown[]) => {
              eventReads.push(JSON.parse(args[0] as string));
              return statement.bind(...args);
            },
          };
        };
      },
    });
    const { report } = await runVenue(testDeps({ fetch, db }), "kalshi", { maxPages: 2 });
    expect(report).toMatchObject({ outcome: "ok", pages: 2, stored: 6, passCompleted: true });
    for (const s of ["A", "B"]) {
      expect(await row(`KXECO-1-${s}`)).toMatchObject({ category: "Economics", seriesId: "KXECO" });
      expect(await row(`KXGONE-1-${s}`)).toMatchObject({ category: null, seriesId: "KXGONE" });
      expect(await row(`KXNONE-1-${s}`)).toMatchObject({ category: null, seriesId: null });
    }
    // Kalshi is asked as before: the event it does not know and the series it does not know, on each page.
    const asked = (p: string) => seen.filter((x) => x.startsWith(p));
    expect(asked("/trade-api/v2/events?").filter((x) => x.includes("KXNONE-1"))).toHaveLength(2);
    expect(asked("/trade-api/v2/events?").filter((x) => x.includes("KXECO-1"))).toHaveLength(1);
    expect(asked("/trade-api/v2/series/KXGONE")).toHaveLength(2);
    // The second page reads only the events whose series is still unknown; the known one is the run's.
    expect(eventReads.at(-1)?.sort()).toEqual(["KXGONE-1", "KXNONE-1"]);
    expect(eventReads.filter((r) => r.includes("KXECO-1")).length).toBeLessThan(eventReads.length);
  });
});

describe("a Kalshi market that stops being open does not stay active", () => {
  const tickers = ["KXECO-1-A", "KXECO-1-B", "KXECO-1-C", "KXECO-1-D", "KXECO-1-E"];
  const events = [kalshiEventFixture({ event_ticker: "KXECO-1", series_ticker: "KXECO", title: "Economy" })];
  const series = [kalshiSeriesFixture({ ticker: "KXECO", category: "Economics" })];

  /**
   * Kalshi's `GET /markets` as kalshi-typescript documents it: `status=open` lists the open markets (status
   * `active`); `tickers=` lists those markets whatever their status; one settled before the historical cutoff is
   * in neither (only `GET /historical/markets` has it). `failLookups` answers lookups by ticker 503.
   */
  function exchange() {
    const markets = new Map(
      tickers.map((t) => [t, kalshiMarketFixture({ ticker: t, event_ticker: "KXECO-1" })]),
    );
    const state = { markets, archived: new Set<string>(), failLookups: false };
    const stub = kalshiStubFetch({
      events,
      series,
      markets: (url) => {
        const wanted = url.searchParams.get("tickers")?.split(",");
        if (wanted && state.failLookups) return new Response("{}", { status: 503 });
        const listed = [...markets.values()].filter((m) => !state.archived.has(m.ticker));
        if (wanted) return { markets: listed.filter((m) => wanted.includes(m.ticker)), cursor: "" };
        const open = listed.filter((m) => url.searchParams.get("status") !== "open" || m.status === "active");
        const start = Number(url.searchParams.get("cursor") || "0");
        const end = start + Number(url.searchParams.get("limit") ?? "100");
        return { markets: open.slice(start, end), cursor: end < open.length ? String(end) : "" };
      },
    });
    const setStatus = (t: string, status: K.Market["status"]) => {
      markets.set(t, { ...markets.get(t)!, status });
    };
    return { state, stub, setStatus };
  }
  const statuses = async () =>
    Object.fromEntries(
      (
        await tenv.D1_MARKETS.prepare(
          "SELECT market_id, status FROM markets WHERE venue = 'kalshi' ORDER BY market_id",
        ).all<{ market_id: string; status: string }>()
      ).results.map((r) => [r.market_id, r.status]),
    );

  it("one a complete open pass no longer lists is looked up by ticker and stored with Kalshi's status; one Kalshi no longer lists at all is unlisted", async () => {
    const { state, stub, setStatus } = exchange();
    const { fetch, sent } = recording(stub);
    let clock = Date.now();
    const deps = testDeps({ fetch, now: () => clock });
    expect((await runVenue(deps, "kalshi", { maxPages: 1 })).report).toMatchObject({
      passCompleted: true,
      stored: 5,
    });
    // Since that pass: B closed, C settled, D paused (Kalshi's `inactive`), E settled before the historical cutoff.
    setStatus("KXECO-1-B", "closed");
    setStatus("KXECO-1-C", "finalized");
    setStatus("KXECO-1-D", "inactive");
    state.archived.add("KXECO-1-E");
    clock += 60_000;
    sent.length = 0;
    const second = await runVenue(deps, "kalshi", { maxPages: 1 });
    expect(second.report).toMatchObject({ outcome: "ok", passCompleted: true, stored: 1 });
    expect(await statuses()).toEqual({
      "KXECO-1-A": "active",
      "KXECO-1-B": "closed",
      "KXECO-1-C": "finalized",
      "KXECO-1-D": "inactive",
      "KXECO-1-E": "unlisted",
    });
    // One lookup, of exactly the four, with no status filter; a documented call like every other read.
    const lookups = sent.filter(
      (r) => new URL(r.url).searchParams.has("tickers") && r.url.includes("/markets?"),
    );
    expect(lookups).toHaveLength(1);
    const q = new URL(lookups[0]!.url).searchParams;
    expect(q.get("tickers")!.split(",")).toEqual(["KXECO-1-B", "KXECO-1-C", "KXECO-1-D", "KXECO-1-E"]);
    expect(q.has("status")).toBe(false);
    for (const r of sent) expect(await kalshiRequestProblems(r), r.url).toEqual([]);
    // The lookup is evidence like any page, and what it found is audited once.
    const closed = (await auditEvents()).filter((e) => e.type === "ingestion.markets_closed");
    expect(closed).toHaveLength(1);
    expect(closed[0]!.payload).toMatchObject({
      venue: "kalshi",
      checked: 4,
      count: 4,
      statuses: { closed: 1, finalized: 1, inactive: 1, unlisted: 1 },
    });
    const b = (await row("KXECO-1-B"))!;
    expect(await count("evidence_sightings", "hash = ?1 AND url LIKE ?2", b.evidenceHash, "%tickers=%")).toBe(
      1,
    );

    // D reopens: the next pass lists it and it is active again; nothing is looked up.
    setStatus("KXECO-1-D", "active");
    clock += 60_000;
    sent.length = 0;
    await runVenue(deps, "kalshi", { maxPages: 1 });
    expect((await statuses())["KXECO-1-D"]).toBe("active");
    expect(sent.some((r) => new URL(r.url).searchParams.has("tickers") && r.url.includes("/markets?"))).toBe(
      false,
    );
  });

  it("a pass that did not complete sweeps nothing; a lookup that fails marks nothing and the next pass asks again", async () => {
    const { state, stub, setStatus } = exchange();
    let clock = Date.now();
    const deps = testDeps({ fetch: stub, now: () => clock });
    const run = (maxPages: number) => runVenue(deps, "kalshi", { maxPages, pageSize: 2 });
    expect((await run(5)).report).toMatchObject({ passCompleted: true, stored: 5 });
    setStatus("KXECO-1-B", "closed");
    clock += 60_000;
    // Two of the four open markets: the pass is not complete, so B's absence means nothing yet.
    expect((await run(1)).report).toMatchObject({ outcome: "ok", passCompleted: false, stored: 2 });
    expect((await statuses())["KXECO-1-B"]).toBe("active");
    // The same pass completes in the next run, but the lookup fails: B stays as it was, the run is partial.
    state.failLookups = true;
    clock += 60_000;
    const failed = await run(5);
    expect(failed.report).toMatchObject({ outcome: "partial", passCompleted: true, stored: 2 });
    expect(failed.report.errors).toMatchObject({ http_503: 1 });
    expect((await statuses())["KXECO-1-B"]).toBe("active");
    // The next complete pass asks again.
    state.failLookups = false;
    clock += 60_000;
    const next = await run(5);
    expect(next.report).toMatchObject({ outcome: "ok", passCompleted: true });
    expect((await statuses())["KXECO-1-B"]).toBe("closed");
  });
  const row = (id: string) => getMarketRow(tenv.D1_MARKETS, "kalshi", id, Date.now());
});
