/**
 * Kalshi's official response and request models (kalshi-typescript 3.30.0, `models/*.ts`, generated from
 * Kalshi's OpenAPI) as strict valibot schemas: a body with a field the model lacks, a required field missing,
 * or a field of the wrong type fails. Each schema is proven to have exactly the SDK type's shape at compile
 * time (`Same<…>` below): the SDK is the reference, these only make it checkable at run time.
 *
 * Used by the conformance tests (every body venue-sim serves, every body our clients send) and never by
 * production parsing, which stays tolerant of what the model marks optional or nullable.
 */
import type * as K from "kalshi-typescript";
import * as v from "valibot";

// ---- compile-time proof that a schema's output is the SDK type ----

type RequiredKeys<T> = { [P in keyof T]-?: object extends Pick<T, P> ? never : P }[keyof T];
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/**
 * True when A and B have the same keys, the same required keys, and each is assignable to the other (so an
 * invented field, a dropped optional field, a required field made optional or a wrong type all fail).
 */
export type Same<A, B> =
  Mutual<keyof A, keyof B> extends true
    ? Mutual<RequiredKeys<A>, RequiredKeys<B>> extends true
      ? Mutual<A, B>
      : false
    : false;
/** Fails to compile unless `T` is `true`. */
export type Assert<T extends true> = T;

const str = v.string();
const num = v.number();
const bool = v.boolean();
const opt = <S extends v.GenericSchema>(s: S) => v.optional(s);
const nullish = <S extends v.GenericSchema>(s: S) => v.optional(v.nullable(s));
/** The spec's untyped `object`: any JSON object (not an array, not null). */
const anyObject = v.custom<object>(
  (x) => typeof x === "object" && x !== null && !Array.isArray(x),
  "must be a JSON object",
);
const pick = <T extends Record<string, string>>(e: T) => v.picklist(Object.values(e) as T[keyof T][]);

/** Fixed-point dollars (`"0.5600"`; responses emit up to 6 decimals). */
export const FixedDollars = v.pipe(v.string(), v.regex(/^-?\d+(\.\d{1,6})?$/, "fixed-point dollars"));
/** Fixed-point contract count (`"10.00"`; responses always emit 2 decimals, granularity 0.01). */
export const FixedCount = v.pipe(v.string(), v.regex(/^-?\d+\.\d{2}$/, "fixed-point count, 2 decimals"));

export const SettlementSource = v.strictObject({ name: opt(str), url: opt(str) });
export const PriceRange = v.strictObject({ start: FixedDollars, end: FixedDollars, step: FixedDollars });
export const MveSelectedLeg = v.strictObject({
  event_ticker: opt(str),
  market_ticker: opt(str),
  side: opt(str),
  yes_settlement_value_dollars: opt(FixedDollars),
});

export const Market = v.strictObject({
  ticker: str,
  event_ticker: str,
  market_type: pick({ Binary: "binary", Scalar: "scalar" } as const),
  title: opt(str),
  subtitle: opt(str),
  yes_sub_title: str,
  no_sub_title: str,
  created_time: str,
  updated_time: str,
  open_time: str,
  close_time: str,
  expected_expiration_time: nullish(str),
  expiration_time: opt(str),
  latest_expiration_time: str,
  settlement_timer_seconds: num,
  status: pick({
    Initialized: "initialized",
    Inactive: "inactive",
    Active: "active",
    Closed: "closed",
    Determined: "determined",
    Disputed: "disputed",
    Amended: "amended",
    Finalized: "finalized",
  } as const),
  yes_bid_dollars: FixedDollars,
  yes_bid_size_fp: FixedCount,
  yes_ask_dollars: FixedDollars,
  yes_ask_size_fp: FixedCount,
  no_bid_dollars: FixedDollars,
  no_ask_dollars: FixedDollars,
  last_price_dollars: FixedDollars,
  volume_fp: FixedCount,
  volume_24h_fp: FixedCount,
  result: pick({ Yes: "yes", No: "no", Scalar: "scalar", Empty: "" } as const),
  can_close_early: bool,
  open_interest_fp: FixedCount,
  notional_value_dollars: FixedDollars,
  previous_yes_bid_dollars: FixedDollars,
  previous_yes_ask_dollars: FixedDollars,
  previous_price_dollars: FixedDollars,
  liquidity_dollars: opt(FixedDollars),
  settlement_value_dollars: opt(FixedDollars),
  settlement_ts: nullish(str),
  expiration_value: str,
  occurrence_datetime: nullish(str),
  fee_waiver_expiration_time: nullish(str),
  early_close_condition: nullish(str),
  strike_type: opt(
    pick({
      Greater: "greater",
      GreaterOrEqual: "greater_or_equal",
      Less: "less",
      LessOrEqual: "less_or_equal",
      Between: "between",
      Functional: "functional",
      Custom: "custom",
      Structured: "structured",
    } as const),
  ),
  floor_strike: nullish(num),
  cap_strike: nullish(num),
  functional_strike: nullish(str),
  custom_strike: nullish(anyObject),
  rules_primary: str,
  rules_secondary: str,
  mve_collection_ticker: opt(str),
  mve_selected_legs: opt(v.array(MveSelectedLeg)),
  primary_participant_key: nullish(str),
  price_level_structure: str,
  price_ranges: v.array(PriceRange),
  is_provisional: opt(bool),
  exchange_index: opt(num),
});

export const GetMarketsResponse = v.strictObject({ markets: v.array(Market), cursor: str });
export const GetMarketResponse = v.strictObject({ market: Market });

/** Each level is `[price_dollars, count_fp]`. */
export const OrderbookCountFp = v.strictObject({
  yes_dollars: v.array(v.array(str)),
  no_dollars: v.array(v.array(str)),
});
export const GetMarketOrderbookResponse = v.strictObject({ orderbook_fp: OrderbookCountFp });

export const Series = v.strictObject({
  ticker: str,
  frequency: str,
  title: str,
  category: str,
  categories: v.array(str),
  tags: v.nullable(v.array(str)),
  settlement_sources: v.nullable(v.array(SettlementSource)),
  contract_url: str,
  contract_terms_url: str,
  product_metadata: nullish(anyObject),
  fee_type: pick({
    FeeTypeQuadratic: "quadratic",
    FeeTypeQuadraticWithMakerFees: "quadratic_with_maker_fees",
    FeeTypeQuadraticWithComboMakerFees: "quadratic_with_combo_maker_fees",
    FeeTypeFlat: "flat",
  } as const),
  fee_multiplier: num,
  additional_prohibitions: v.nullable(v.array(str)),
  volume_fp: opt(FixedCount),
  last_updated_ts: opt(str),
  exchange_index: opt(num),
});
/** `GET /series`: the whole list in one body (the spec gives it no cursor and no limit). */
export const GetSeriesListResponse = v.strictObject({ series: v.array(Series) });
export const GetSeriesResponse = v.strictObject({ series: Series });

export const EventData = v.strictObject({
  event_ticker: str,
  series_ticker: str,
  sub_title: str,
  title: str,
  collateral_return_type: str,
  mutually_exclusive: bool,
  category: opt(str),
  strike_date: nullish(str),
  strike_period: nullish(str),
  markets: opt(v.array(Market)),
  product_metadata: nullish(anyObject),
  settlement_sources: v.nullable(v.array(SettlementSource)),
  last_updated_ts: opt(str),
  fee_type_override: nullish(str),
  fee_multiplier_override: nullish(num),
  exchange_index: opt(num),
});
export const Milestone = v.strictObject({
  id: str,
  category: str,
  type: str,
  start_date: str,
  end_date: nullish(str),
  related_event_tickers: v.array(str),
  title: str,
  notification_message: str,
  source_id: nullish(str),
  source_ids: opt(v.record(str, str)),
  details: v.record(str, v.any()),
  primary_event_tickers: v.array(str),
  last_updated_ts: str,
});
export const GetEventsResponse = v.strictObject({
  events: v.array(EventData),
  milestones: opt(v.array(Milestone)),
  cursor: str,
});
export const GetEventResponse = v.strictObject({ event: EventData, markets: v.array(Market) });

export const ExchangeIndexStatus = v.strictObject({
  exchange_index: num,
  description: str,
  exchange_active: bool,
  trading_active: bool,
  intra_exchange_transfers_active: bool,
});
export const ExchangeStatus = v.strictObject({
  exchange_active: bool,
  trading_active: bool,
  intra_exchange_transfers_active: opt(bool),
  exchange_estimated_resume_time: nullish(str),
  exchange_index_statuses: opt(v.array(ExchangeIndexStatus)),
});

// ---- portfolio ----

const BookSide = pick({ Bid: "bid", Ask: "ask" } as const);
const YesNo = pick({ Yes: "yes", No: "no" } as const);
const BuySell = pick({ Buy: "buy", Sell: "sell" } as const);
const SelfTradePreventionType = pick({ TakerAtCross: "taker_at_cross", Maker: "maker" } as const);

/** The only order statuses the spec lists (`models/order-status.ts`). */
export const OrderStatus = pick({ Resting: "resting", Canceled: "canceled", Executed: "executed" } as const);

export const Order = v.strictObject({
  order_id: str,
  user_id: str,
  client_order_id: str,
  ticker: str,
  side: opt(YesNo),
  action: opt(BuySell),
  outcome_side: YesNo,
  book_side: BookSide,
  type: pick({ Limit: "limit", Market: "market" } as const),
  status: OrderStatus,
  yes_price_dollars: FixedDollars,
  no_price_dollars: FixedDollars,
  fill_count_fp: FixedCount,
  remaining_count_fp: FixedCount,
  initial_count_fp: FixedCount,
  taker_fill_cost_dollars: FixedDollars,
  maker_fill_cost_dollars: FixedDollars,
  taker_fees_dollars: FixedDollars,
  maker_fees_dollars: FixedDollars,
  expiration_time: nullish(str),
  created_time: nullish(str),
  last_update_time: nullish(str),
  self_trade_prevention_type: opt(SelfTradePreventionType),
  order_group_id: nullish(str),
  cancel_order_on_pause: opt(bool),
  subaccount_number: nullish(num),
  exchange_index: opt(num),
});
export const GetOrdersResponse = v.strictObject({ orders: v.array(Order), cursor: str });
export const GetOrderResponse = v.strictObject({ order: Order });

export const Fill = v.strictObject({
  fill_id: str,
  exchange_index: num,
  trade_id: str,
  order_id: str,
  ticker: str,
  market_ticker: str,
  side: opt(YesNo),
  action: opt(BuySell),
  outcome_side: YesNo,
  book_side: BookSide,
  count_fp: FixedCount,
  yes_price_dollars: FixedDollars,
  no_price_dollars: FixedDollars,
  is_taker: bool,
  created_time: opt(str),
  fee_cost: FixedDollars,
  subaccount_number: nullish(num),
  ts: opt(num),
});
export const GetFillsResponse = v.strictObject({ fills: v.array(Fill), cursor: str });

export const MarketPosition = v.strictObject({
  ticker: str,
  exchange_index: num,
  total_traded_dollars: FixedDollars,
  position_fp: FixedCount,
  market_exposure_dollars: FixedDollars,
  realized_pnl_dollars: FixedDollars,
  fees_paid_dollars: FixedDollars,
  last_updated_ts: str,
});
export const EventPosition = v.strictObject({
  event_ticker: str,
  total_cost_dollars: FixedDollars,
  total_cost_shares_fp: FixedCount,
  event_exposure_dollars: FixedDollars,
  realized_pnl_dollars: FixedDollars,
  fees_paid_dollars: FixedDollars,
});
export const GetPositionsResponse = v.strictObject({
  cursor: opt(str),
  market_positions: v.array(MarketPosition),
  event_positions: v.array(EventPosition),
});

export const IndexedBalance = v.strictObject({ exchange_index: num, balance: str });
export const GetBalanceResponse = v.strictObject({
  balance: num,
  balance_dollars: str,
  portfolio_value: num,
  updated_ts: num,
  balance_breakdown: opt(v.array(IndexedBalance)),
});

/** Requests accept counts with 0–2 decimals ("10", "10.0", "10.00"), prices with 2–4 ("0.56", "0.5600"). */
const RequestCount = v.pipe(v.string(), v.regex(/^\d+(\.\d{1,2})?$/, "count with 0-2 decimals"));
const RequestPrice = v.pipe(v.string(), v.regex(/^\d+\.\d{2,4}$/, "price with 2-4 decimals"));

export const CreateOrderV2Request = v.strictObject({
  ticker: str,
  client_order_id: opt(str),
  side: BookSide,
  count: RequestCount,
  price: RequestPrice,
  expiration_time: opt(num),
  time_in_force: pick({
    FillOrKill: "fill_or_kill",
    GoodTillCanceled: "good_till_canceled",
    ImmediateOrCancel: "immediate_or_cancel",
  } as const),
  post_only: opt(bool),
  self_trade_prevention_type: SelfTradePreventionType,
  cancel_order_on_pause: opt(bool),
  reduce_only: opt(bool),
  subaccount: opt(num),
  order_group_id: opt(str),
  exchange_index: opt(num),
});
export const CreateOrderV2Response = v.strictObject({
  order_id: str,
  client_order_id: opt(str),
  fill_count: FixedCount,
  remaining_count: FixedCount,
  average_fill_price: opt(FixedDollars),
  average_fee_paid: opt(FixedDollars),
  ts_ms: num,
});
export const CancelOrderV2Response = v.strictObject({
  order_id: str,
  client_order_id: opt(str),
  reduced_by: FixedCount,
  ts_ms: num,
});

type Out<S extends v.GenericSchema> = v.InferOutput<S>;
/** The proofs: each line fails to compile if its schema and the SDK's model differ in any field. */
export type Proofs = [
  Assert<Same<Out<typeof SettlementSource>, K.SettlementSource>>,
  Assert<Same<Out<typeof PriceRange>, K.PriceRange>>,
  Assert<Same<Out<typeof MveSelectedLeg>, K.MveSelectedLeg>>,
  Assert<Same<Out<typeof Market>, K.Market>>,
  Assert<Same<Out<typeof GetMarketsResponse>, K.GetMarketsResponse>>,
  Assert<Same<Out<typeof GetMarketResponse>, K.GetMarketResponse>>,
  Assert<Same<Out<typeof OrderbookCountFp>, K.OrderbookCountFp>>,
  Assert<Same<Out<typeof GetMarketOrderbookResponse>, K.GetMarketOrderbookResponse>>,
  Assert<Same<Out<typeof Series>, K.Series>>,
  Assert<Same<Out<typeof GetSeriesListResponse>, K.GetSeriesListResponse>>,
  Assert<Same<Out<typeof GetSeriesResponse>, K.GetSeriesResponse>>,
  Assert<Same<Out<typeof EventData>, K.EventData>>,
  Assert<Same<Out<typeof Milestone>, K.Milestone>>,
  Assert<Same<Out<typeof GetEventsResponse>, K.GetEventsResponse>>,
  Assert<Same<Out<typeof GetEventResponse>, K.GetEventResponse>>,
  Assert<Same<Out<typeof ExchangeIndexStatus>, K.ExchangeIndexStatus>>,
  Assert<Same<Out<typeof ExchangeStatus>, K.ExchangeStatus>>,
  Assert<Same<Out<typeof Order>, K.Order>>,
  Assert<Same<Out<typeof GetOrdersResponse>, K.GetOrdersResponse>>,
  Assert<Same<Out<typeof GetOrderResponse>, K.GetOrderResponse>>,
  Assert<Same<Out<typeof Fill>, K.Fill>>,
  Assert<Same<Out<typeof GetFillsResponse>, K.GetFillsResponse>>,
  Assert<Same<Out<typeof MarketPosition>, K.MarketPosition>>,
  Assert<Same<Out<typeof EventPosition>, K.EventPosition>>,
  Assert<Same<Out<typeof GetPositionsResponse>, K.GetPositionsResponse>>,
  Assert<Same<Out<typeof IndexedBalance>, K.IndexedBalance>>,
  Assert<Same<Out<typeof GetBalanceResponse>, K.GetBalanceResponse>>,
  Assert<Same<Out<typeof CreateOrderV2Request>, K.CreateOrderV2Request>>,
  Assert<Same<Out<typeof CreateOrderV2Response>, K.CreateOrderV2Response>>,
  Assert<Same<Out<typeof CancelOrderV2Response>, K.CancelOrderV2Response>>,
];
