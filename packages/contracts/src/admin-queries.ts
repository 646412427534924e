import * as v from "valibot";
import { EvidenceQuery } from "./evidence";
import { HedgeObligationState } from "./execution";
import { MAX_PAGE_LIMIT, NonEmptyText, Text, Timestamp } from "./fields";
import { MarketVenue } from "./ingestion";
import { MAX_REPLAY_SPAN_MS } from "./replay";
import { MarketCategory } from "./risk";
import { ReasonCode } from "./risk-admin";

// Query strings of the gateway's read-only browse and monitoring routes. Every value arrives as a string; these
// schemas check the string and turn it into what the RPC takes, so the OpenAPI description and the route agree.

/** A positive whole number in a query string, at most `max`. */
function pageSize(max: number) {
  return v.pipe(
    v.string(),
    v.regex(/^[1-9]\d{0,5}$/, "a whole number from 1"),
    v.transform(Number),
    v.maxValue(max, `at most ${max}`),
  );
}

/** A list route's `limit`: the bound of the list RPC it calls, so any limit the route takes, the RPC takes too. */
const PageLimitParam = pageSize(MAX_PAGE_LIMIT);

/** `GET /admin/markets?search=&venue=&category=&status=&limit=&cursor=`. */
export const MarketsHttpQuery = v.strictObject({
  search: v.optional(NonEmptyText(100)),
  venue: v.optional(MarketVenue),
  category: v.optional(MarketCategory),
  status: v.optional(NonEmptyText(32)),
  limit: v.optional(pageSize(1000)),
  cursor: v.optional(Text(512)),
});

/**
 * `GET /admin/evidence?venue=&from=&to=&limit=&cursor=` (newest first; `from` inclusive, `to` exclusive): the
 * `listEvidence` query it passes on, its `limit` read from the query string.
 */
export const EvidenceHttpQuery = v.strictObject({
  ...EvidenceQuery.entries,
  limit: v.optional(PageLimitParam),
});

/**
 * `GET /admin/evidence/export?from=&to=`: the evidence fetched in [from, to) as a replay reads it (docs/replay.md).
 * At most a replay's longest window (31 days), so any replay's window can be exported whole.
 */
export const EvidenceExportHttpQuery = v.pipe(
  v.strictObject({ from: Timestamp, to: Timestamp }),
  // Both checks name `to`, so the 400 says which parameter to change.
  v.forward(
    v.partialCheck(
      [["from"], ["to"]],
      (q) => Date.parse(q.from) < Date.parse(q.to),
      "from must be before to",
    ),
    ["to"],
  ),
  v.forward(
    v.partialCheck(
      [["from"], ["to"]],
      (q) => Date.parse(q.to) - Date.parse(q.from) <= MAX_REPLAY_SPAN_MS,
      "an export covers at most 31 days of evidence (a replay's longest window)",
    ),
    ["to"],
  ),
);

/** `GET /admin/risk/decisions?limit=&denied=true&code=` (newest first). */
export const DecisionsHttpQuery = v.strictObject({
  limit: v.optional(PageLimitParam),
  denied: v.optional(
    v.pipe(
      v.picklist(["true", "false"]),
      v.transform((s) => s === "true"),
    ),
  ),
  code: v.optional(ReasonCode),
});

/** `GET /admin/circuit-breaker/history?limit=` (newest first). */
export const BreakerHistoryHttpQuery = v.strictObject({ limit: v.optional(PageLimitParam) });

/** `GET /admin/execution/hedge-obligations?state=&limit=` (default: the open ones, oldest first). */
export const HedgeObligationsHttpQuery = v.strictObject({
  state: v.optional(HedgeObligationState),
  limit: v.optional(PageLimitParam),
});

/** `GET /admin/alerts?limit=` (every active alert, and the newest `limit` history rows). */
export const AlertsHttpQuery = v.strictObject({ limit: v.optional(PageLimitParam) });

/** `GET /admin/alerts/outbox?limit=` (the newest composed emails). */
export const OutboxHttpQuery = v.strictObject({ limit: v.optional(pageSize(200)) });

/** `GET /admin/equity?minutes=` (the newest `minutes` one-minute samples, oldest first; default a day). */
export const EquityHttpQuery = v.strictObject({ minutes: v.optional(pageSize(10_080)) });

/** `GET /admin/pairs/page?review=&grade=&offset=&limit=`: one page of pairs, filtered (the console's table). */
export const PairsPageHttpQuery = v.strictObject({
  review: v.optional(v.picklist(["pending", "approved", "rejected"])),
  /** An equivalence grade, or `unassessed` for pairs the LLM has not graded yet. */
  grade: v.optional(
    v.picklist(["identical", "near_equivalent", "not_equivalent", "uncertain", "unassessed"]),
  ),
  offset: v.optional(
    v.pipe(v.string(), v.regex(/^(0|[1-9]\d{0,6})$/, "a whole number from 0"), v.transform(Number)),
  ),
  limit: v.optional(pageSize(200)),
});
