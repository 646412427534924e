import type * as K from "kalshi-typescript";

// Fixtures typed as Kalshi's official models (kalshi-typescript 3.30.0): a field the model lacks fails to
// compile, so no test can feed ingestion a field the real venue never sends.

/** A binary, open market with every required field; `overrides` may drop or null what the model allows. */
export function kalshiMarketFixture(overrides: Partial<K.Market> = {}): K.Market {
  return {
    ticker: "KXFIX-27JAN01-B50",
    event_ticker: "KXFIX-27JAN01",
    market_type: "binary",
    title: "Fixture market",
    yes_sub_title: "50 or above",
    no_sub_title: "Below 50",
    created_time: "2026-01-01T00:00:00Z",
    updated_time: "2026-01-01T00:00:00Z",
    open_time: "2026-01-01T00:00:00Z",
    close_time: "2027-01-01T14:00:00Z",
    latest_expiration_time: "2027-01-08T14:00:00Z",
    settlement_timer_seconds: 300,
    status: "active",
    yes_bid_dollars: "0.4000",
    yes_bid_size_fp: "10.00",
    yes_ask_dollars: "0.4200",
    yes_ask_size_fp: "12.50",
    no_bid_dollars: "0.5800",
    no_ask_dollars: "0.6000",
    last_price_dollars: "0.4100",
    volume_fp: "100.00",
    volume_24h_fp: "5.00",
    result: "",
    can_close_early: true,
    open_interest_fp: "40.00",
    notional_value_dollars: "1.0000",
    previous_yes_bid_dollars: "0.3900",
    previous_yes_ask_dollars: "0.4300",
    previous_price_dollars: "0.4000",
    expiration_value: "",
    rules_primary: "If the fixture resolves Yes, the market resolves to Yes.",
    rules_secondary: "Source: the fixture.",
    price_level_structure: "linear_cent",
    price_ranges: [{ start: "0.0100", end: "0.9900", step: "0.0100" }],
    ...overrides,
  } satisfies K.Market;
}

/** An event as `GET /events` lists it. */
export function kalshiEventFixture(overrides: Partial<K.EventData> = {}): K.EventData {
  return {
    event_ticker: "KXFIX-27JAN01",
    series_ticker: "KXFIX",
    sub_title: "On January 1, 2027",
    title: "Fixture event",
    collateral_return_type: "binary",
    mutually_exclusive: false,
    settlement_sources: null,
    ...overrides,
  } satisfies K.EventData;
}

/** A series as `GET /series` lists it. */
export function kalshiSeriesFixture(overrides: Partial<K.Series> = {}): K.Series {
  return {
    ticker: "KXFIX",
    frequency: "daily",
    title: "Fixture series",
    category: "Economics",
    categories: ["Economics"],
    tags: null,
    settlement_sources: null,
    contract_url: "https://kalshi.example/c.pdf",
    contract_terms_url: "https://kalshi.example/t.pdf",
    fee_type: "quadratic",
    fee_multiplier: 1,
    additional_prohibitions: null,
    ...overrides,
  } satisfies K.Series;
}

const json = (body: unknown) =>
  new Response(typeof body === "string" ? body : JSON.stringify(body), {
    headers: { "content-type": "application/json" },
  });

/** A stand-in for Kalshi's market-data reads, answering each documented path with the given bodies. */
export function kalshiStubFetch(o: {
  /** The body of every `GET /markets`, or one per request. */
  markets: K.GetMarketsResponse | string | ((url: URL) => K.GetMarketsResponse | Response);
  events?: K.EventData[];
  series?: K.Series[];
  seen?: string[];
}) {
  return async (input: RequestInfo | URL, _init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    o.seen?.push(url.pathname + url.search);
    const path = url.pathname.replace("/trade-api/v2", "");
    if (path === "/markets") {
      const body = typeof o.markets === "function" ? o.markets(url) : o.markets;
      return body instanceof Response ? body : json(body);
    }
    if (path === "/series") return json({ series: o.series ?? [] } satisfies K.GetSeriesListResponse);
    if (path.startsWith("/series/")) {
      const s = (o.series ?? []).find((x) => x.ticker === decodeURIComponent(path.slice(8)));
      return s
        ? json({ series: s } satisfies K.GetSeriesResponse)
        : json({ code: "not_found", message: "no" }).clone();
    }
    if (path === "/events") {
      const wanted = url.searchParams.get("tickers")?.split(",") ?? [];
      return json({
        events: (o.events ?? []).filter((e) => wanted.includes(e.event_ticker)),
        cursor: "",
      } satisfies K.GetEventsResponse);
    }
    return new Response(JSON.stringify({ code: "not_found", message: "no route" }), { status: 404 });
  };
}

/** A Kalshi that lists one market (KXECO-1-A, event KXECO-1, series KXECO in Economics); `cursor` the page's next. */
export function oneMarketKalshi(cursor = ""): ReturnType<typeof kalshiStubFetch> {
  return kalshiStubFetch({
    markets: { markets: [kalshiMarketFixture({ ticker: "KXECO-1-A", event_ticker: "KXECO-1" })], cursor },
    events: [kalshiEventFixture({ event_ticker: "KXECO-1", series_ticker: "KXECO" })],
    series: [kalshiSeriesFixture({ ticker: "KXECO", category: "Economics" })],
  });
}
