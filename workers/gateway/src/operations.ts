// Over 400 lines on purpose: the route table is data, one entry per route, read as one list.
// The gateway's HTTP surface as data: one line per route, with the valibot schema its handler reads
// (openapi.ts writes the OpenAPI document from it).
import {
  AlertsHttpQuery,
  ApprovalRequestInput,
  ApprovalStatus,
  BreakerHistoryHttpQuery,
  BreakerTransitionRequest,
  CapitalChange,
  ComplianceRuleSet,
  DecisionsHttpQuery,
  EquityHttpQuery,
  EvidenceExportHttpQuery,
  EvidenceHttpQuery,
  ExecutionPolicyChange,
  GoLiveInput,
  HedgeObligationAbandon,
  HedgeObligationsHttpQuery,
  HedgeObligationsView,
  HistoryRecordRequest,
  IngestionRunRequest,
  MarketsHttpQuery,
  OrderIntent,
  OrderQuery,
  OutboxHttpQuery,
  PairReviewInput,
  PairsPageHttpQuery,
  RecipientChange,
  ReplayStart,
  RiskLimits,
  StrategyCreateInput,
} from "@paulp/contracts";
import * as v from "valibot";
import { ReceiptCheckRequest, VerifyRequest } from "./routes/audit";
import { DevLogin, DevSimClock, DevSimFault } from "./routes/dev";
import { ManualOrder } from "./routes/execution";
import { RejectBody } from "./routes/governance";

type Method = "get" | "post" | "put";

/** One operation of the gateway's HTTP surface, described from the same valibot schemas its handler reads. */
export interface Operation {
  method: Method;
  /** itty-router's form (`/admin/orders/:id`); the document writes `{id}`. */
  path: string;
  summary: string;
  tag: string;
  /** Refuses the shared token: needs a person verified by Cloudflare Access. */
  person?: true;
  /** No authentication (outside /admin). */
  public?: true;
  body?: v.GenericSchema;
  /** Optional body: an empty request means the schema's defaults. */
  bodyOptional?: true;
  query?: Record<string, { schema: v.GenericSchema; description: string }>;
  /** The success answer's schema, where the contract has one (otherwise the document leaves it open). */
  response?: v.GenericSchema;
  /** The success status (200 unless given) and its content type (JSON unless given). */
  status?: 200 | 201 | 202;
  produces?: string;
  /** Answers 403 `approval_required` (with the payload to request) when the change needs two people. */
  twoPerson?: string;
}

const op = (method: Method, path: string, tag: string, summary: string, more: Partial<Operation> = {}) =>
  ({ method, path, tag, summary, ...more }) as Operation;

/**
 * Every route of the gateway. A route added to the router without a line here (or a line here without a
 * route) fails `test/openapi.test.ts`: add the route's line where it belongs, with the schema its handler reads.
 */
export const OPERATIONS: Operation[] = [
  op("get", "/health", "gateway", "Liveness only", { public: true }),
  op("get", "/console", "gateway", "The operator console (a static page; it holds no data)", {
    public: true,
    produces: "text/html",
  }),
  ...(
    [
      ["/console/app.js", "The console's script", "text/javascript"],
      ["/console/app.css", "The console's styles", "text/css"],
      ["/console/uplot.js", "uPlot, the console's chart library (vendored from npm)", "text/javascript"],
      ["/console/uplot.css", "uPlot's styles", "text/css"],
    ] as const
  ).map(([path, summary, produces]) => op("get", path, "gateway", summary, { public: true, produces })),
  op("post", "/dev/access-token", "gateway", "Dev only: a local Cloudflare Access sign-in (never deployed)", {
    public: true,
    body: DevLogin,
  }),
  op(
    "get",
    "/dev/sim-stats",
    "gateway",
    "Dev only: the venue simulator's answers by venue and status (the soak counts 429s here; never deployed)",
    { public: true },
  ),
  op(
    "post",
    "/admin/dev/sim-faults",
    "gateway",
    "Dev only: set a venue simulator fault (its /__sim/faults spec; the browser tests fail IBKR's snapshot); 404 where the simulator is not bound or the host is not local (never deployed)",
    { body: DevSimFault, status: 201 },
  ),
  op(
    "post",
    "/admin/dev/sim-faults/clear",
    "gateway",
    "Dev only: clear every venue simulator fault and rate limit set; 404 where the simulator is not bound or the host is not local",
  ),
  op(
    "post",
    "/admin/dev/sim-clock",
    "gateway",
    "Dev only: hold the venue simulator's market data still ({ marketsHeld: true }: prices and books stand, its clock runs on) or let it run again; 404 where the simulator is not bound or the host is not local",
    { body: DevSimClock },
  ),
  op("get", "/admin/whoami", "gateway", "The authenticated principal"),
  op("get", "/admin/openapi.json", "gateway", "This description of the admin API (OpenAPI 3.1)"),
  op(
    "get",
    "/admin/status",
    "gateway",
    "Every worker's health, the gateway's own configuration (token strength, Access, incident contacts) and admin audit outbox (records waiting, oldest age, dropped), and the audit chain's ages and alerts; 503 when degraded",
  ),

  op(
    "get",
    "/admin/audit/status",
    "audit",
    "Head, counts, last anchor and its age, mirror lag, integrity, full verification's age, verifier key, alerts",
  ),
  op("post", "/admin/audit/verify", "audit", "Verify the chain (full answers `complete: false` per step)", {
    body: VerifyRequest,
    bodyOptional: true,
  }),
  op("post", "/admin/audit/anchor", "audit", "Anchor the head now"),
  op("get", "/admin/audit/export", "audit", "NDJSON of entries, mirror batches and anchors", {
    produces: "application/x-ndjson",
  }),
  op(
    "post",
    "/admin/audit/receipts/check",
    "audit",
    "Does the chain still hold these receipts? A lost one is a break (integrity broken, breaker HALT)",
    { body: ReceiptCheckRequest },
  ),

  op("get", "/admin/circuit-breaker", "risk", "Breaker state, version, counts, thresholds"),
  op("post", "/admin/circuit-breaker/transition", "risk", "Move the breaker (HALT needs no version)", {
    body: BreakerTransitionRequest,
    twoPerson: "breaker.recovery_to_normal",
  }),
  op("get", "/admin/risk/limits", "risk", "The risk limits and their version"),
  op("put", "/admin/risk/limits", "risk", "Replace the limits (lowering at once, raising needs two people)", {
    body: RiskLimits,
    twoPerson: "risk.limits_increase",
  }),
  op("get", "/admin/risk/exposure", "risk", "Each limit's use in %"),
  op("put", "/admin/risk/capital", "risk", "Set the capital base (raising needs two people)", {
    body: CapitalChange,
    twoPerson: "risk.capital_increase",
  }),
  op(
    "post",
    "/admin/risk/audit-watch",
    "risk",
    "Verify the audit chain, check risk's kept receipts and the anchor age now, and feed the breaker",
  ),
  op("post", "/admin/risk/evaluate", "risk", "Try an intent without acting (never consumable)", {
    body: OrderIntent,
  }),

  op("get", "/admin/ingestion/status", "ingestion", "Last run per venue, counts, errors by kind"),
  op("post", "/admin/ingestion/run", "ingestion", "Pull the venues now", {
    body: IngestionRunRequest,
    bodyOptional: true,
  }),
  op(
    "post",
    "/admin/ingestion/history",
    "ingestion",
    "Dev only: record the tradable pairs' markets and books over a past window from the venue simulator (403 elsewhere)",
    { body: HistoryRecordRequest },
  ),
  op(
    "post",
    "/admin/evidence/index-audit",
    "ingestion",
    "One step of the evidence index audit now: the next page of the evidence bucket, unrecorded objects recorded once re-hashed",
  ),
  op("get", "/admin/compliance/rules", "ingestion", "The compliance rule set"),
  op("put", "/admin/compliance/rules", "ingestion", "Replace the compliance rule set (versioned, audited)", {
    body: ComplianceRuleSet,
  }),
  op(
    "get",
    "/admin/evidence/export",
    "replays",
    "The evidence of a window as NDJSON for `pnpm replay` (streamed; every object re-hashed; audited)",
    {
      // The window's fields (its checks, from before to and at most 31 days, are the server's).
      query: queryOf(EvidenceExportHttpQuery.pipe[0], {
        from: "fetched at or after (ISO 8601)",
        to: "fetched before (ISO 8601; not in the future; at most 31 days after from)",
      }),
      produces: "application/x-ndjson",
    },
  ),
  op("get", "/admin/evidence/:hash", "ingestion", "Raw evidence bytes, re-hashed on read", {
    produces: "application/octet-stream",
  }),

  op("get", "/admin/approvals", "governance", "The desk's requests", {
    query: { status: { schema: ApprovalStatus, description: "only requests in this state" } },
  }),
  op("get", "/admin/approvals/:id", "governance", "One request"),
  op("post", "/admin/approvals", "governance", "Request a two-person action", {
    person: true,
    body: ApprovalRequestInput,
    status: 201,
  }),
  op(
    "post",
    "/admin/approvals/:id/approve",
    "governance",
    "Approve; at the threshold the action is applied",
    {
      person: true,
    },
  ),
  op("post", "/admin/approvals/:id/reject", "governance", "Reject (final)", {
    person: true,
    body: RejectBody,
  }),
  op(
    "post",
    "/admin/approvals/:id/execute",
    "governance",
    "Re-run the apply step within the execute window",
    {
      person: true,
    },
  ),
  op("get", "/admin/approvers", "governance", "Each action's approver roster"),
  op("get", "/admin/strategies", "governance", "Strategies"),
  op("post", "/admin/strategies", "governance", "Create a strategy (a draft)", {
    body: StrategyCreateInput,
    status: 201,
  }),
  op("post", "/admin/strategies/:id/pause", "governance", "Pause a strategy"),
  op("post", "/admin/strategies/:id/retire", "governance", "Retire a strategy"),
  op("post", "/admin/strategies/:id/paper", "governance", "Move a strategy to paper"),
  op(
    "post",
    "/admin/strategies/:id/go-live",
    "governance",
    "Request the two-person go-live, citing a replay",
    {
      person: true,
      body: GoLiveInput,
      status: 201,
    },
  ),
  op(
    "post",
    "/admin/replays",
    "replays",
    "Replay a strategy over a window of recorded evidence (runs in steps)",
    {
      body: ReplayStart,
      status: 202,
    },
  ),
  op("get", "/admin/replays", "replays", "A strategy's replays, newest first", {
    query: {
      strategyId: {
        schema: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
        description: "the strategy",
      },
    },
  }),
  op("get", "/admin/replays/:id", "replays", "One replay, and its report once complete"),
  op("get", "/admin/pairs", "governance", "Market pairs, grades, reviews", {
    query: {
      review: {
        schema: v.picklist(["pending", "approved", "rejected"]),
        description: "only pairs with this review",
      },
    },
  }),
  op(
    "get",
    "/admin/pairs/page",
    "governance",
    "One page of pairs, filtered by review and grade (the console)",
    {
      query: queryOf(PairsPageHttpQuery, {
        review: "only pairs with this review",
        grade: "only pairs with this grade (`unassessed`: not graded yet)",
        offset: "skip this many (default 0)",
        limit: "at most this many (default 25, at most 200)",
      }),
    },
  ),
  op("post", "/admin/pairs/assess-pending", "governance", "Assess every pending pair (LLM equivalence)"),
  op("post", "/admin/pairs/:id/assess", "governance", "Assess one pair (LLM equivalence)"),
  op("post", "/admin/pairs/:id/review", "governance", "Review a pair", {
    person: true,
    body: PairReviewInput,
  }),

  op("get", "/admin/orders", "execution", "Orders", {
    query: queryOf(OrderQuery, {
      state: "only orders in this state",
      strategyId: "only this strategy's orders",
      limit: "at most this many",
    }),
  }),
  op("post", "/admin/orders", "execution", "Place a manual order (risk decides; 422 when denied)", {
    body: ManualOrder,
    status: 201,
  }),
  op("get", "/admin/orders/:id", "execution", "One order and its state history"),
  op("get", "/admin/orders/:id/trace", "execution", "Order → risk decision → evidence bytes → pair approval"),
  op("post", "/admin/orders/:id/cancel", "execution", "Cancel an order"),
  op("get", "/admin/positions", "execution", "Positions"),
  op(
    "get",
    "/admin/execution/hedge-obligations",
    "execution",
    "Fills whose IBKR hedge is owed (open first), and fills not judged into an obligation yet (undetermined)",
    {
      query: queryOf(HedgeObligationsHttpQuery, {
        state:
          "only obligations in this state (default open); the undetermined fills are listed whatever it is",
        limit: "at most this many obligations, and this many undetermined fills (default 100)",
      }),
      response: HedgeObligationsView,
    },
  ),
  op(
    "post",
    "/admin/execution/hedge-obligations/:id/abandon",
    "execution",
    "Take an open hedge obligation over (no longer retried nor alerted on; audited)",
    { body: HedgeObligationAbandon },
  ),
  op("get", "/admin/execution/policy", "execution", "The execution policy"),
  op("put", "/admin/execution/policy", "execution", "Change the execution policy (live needs two people)", {
    body: ExecutionPolicyChange,
    twoPerson: "execution.policy_live",
  }),
  op("post", "/admin/execution/run", "execution", "Run the trading loop now"),
  op(
    "get",
    "/admin/execution/fast-path",
    "execution",
    "The fast path: traded markets, when each mark was last refreshed, errors by kind",
  ),
  op("post", "/admin/execution/fast-path/run", "execution", "Run one fast-path tick now"),
  op("post", "/admin/reconcile", "execution", "Reconcile positions with the venues"),

  op("get", "/admin/alerts", "monitor", "Active alerts (critical first) and the newest history rows", {
    query: queryOf(AlertsHttpQuery, { limit: "history rows, at most this many (default 50)" }),
  }),
  op("post", "/admin/alerts/evaluate", "monitor", "Read every signal and apply the raise/clear rules now"),
  op("get", "/admin/equity", "monitor", "Equity and the day's P&L, one sample a minute, oldest first", {
    query: queryOf(EquityHttpQuery, {
      minutes: "the newest this many minutes (default 1440, at most 10080)",
    }),
  }),
  op("get", "/admin/alerts/outbox", "monitor", "The composed alert emails and how each was delivered", {
    query: queryOf(OutboxHttpQuery, { limit: "at most this many messages (default 50)" }),
  }),
  op("get", "/admin/alerts/recipients", "monitor", "Who alert emails go to"),
  op(
    "put",
    "/admin/alerts/recipients",
    "monitor",
    "Add or remove one recipient (audited; every recipient told)",
    {
      body: RecipientChange,
    },
  ),
  op("get", "/admin/metrics", "monitor", "The mesh's metrics in the Prometheus text format 0.0.4", {
    produces: "text/plain; version=0.0.4",
  }),
  op("get", "/admin/markets", "ingestion", "Stored markets with their mark, its age and evidence hash", {
    query: queryOf(MarketsHttpQuery, {
      search: "case-insensitive substring of the title or market id",
      venue: "only this venue",
      category: "only this category (case-insensitive)",
      status: "only markets in this venue status",
      limit: "at most this many (default 100)",
      cursor: "the `cursor` of the previous page",
    }),
  }),
  op("get", "/admin/evidence", "ingestion", "Evidence metadata, newest first", {
    query: queryOf(EvidenceHttpQuery, {
      venue: "only this venue",
      from: "fetched at or after (ISO 8601)",
      to: "fetched before (ISO 8601)",
      limit: "at most this many (default 100)",
      cursor: "the `cursor` of the previous page",
    }),
  }),
  op("get", "/admin/risk/decisions", "risk", "Recent recorded risk decisions with their reasons", {
    query: queryOf(DecisionsHttpQuery, {
      limit: "at most this many (default 100)",
      denied: "true: denials only",
      code: "only decisions with this reason code",
    }),
  }),
  op("get", "/admin/circuit-breaker/history", "risk", "The breaker's newest transitions", {
    query: queryOf(BreakerHistoryHttpQuery, { limit: "at most this many (default 100)" }),
  }),
];

/** Query parameters from a query-string schema (a strict object of optional entries), each with its description. */
function queryOf(
  schema: v.ObjectSchema<v.ObjectEntries, undefined> | v.StrictObjectSchema<v.ObjectEntries, undefined>,
  descriptions: Record<string, string>,
): NonNullable<Operation["query"]> {
  return Object.fromEntries(
    Object.entries(schema.entries).map(([name, entry]) => [
      name,
      {
        schema: ((entry as { wrapped?: v.GenericSchema }).wrapped ?? entry) as v.GenericSchema,
        description: descriptions[name] ?? name,
      },
    ]),
  );
}
