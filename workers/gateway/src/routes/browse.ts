import {
  BreakerHistoryHttpQuery,
  DecisionsHttpQuery,
  EvidenceHttpQuery,
  MarketsHttpQuery,
} from "@paulp/contracts";
import { methodRoute } from "../answer";
import type { GatewayRouter } from "../router";
import { parseQuery } from "./query";

/**
 * Read-only views of what the desk knows: markets (with their mark, its age and evidence hash), evidence by time
 * and venue, risk's recent decisions with their reasons, and the breaker's transitions.
 */
export function registerBrowseRoutes(router: GatewayRouter): void {
  router.get(
    "/admin/markets",
    methodRoute("INGESTION", "listMarkets", {
      args: (request) => [parseQuery(request, MarketsHttpQuery)],
      wait: "read",
    }),
  );
  router.get(
    "/admin/evidence",
    methodRoute("INGESTION", "listEvidence", {
      args: (request) => [parseQuery(request, EvidenceHttpQuery)],
      wait: "read",
    }),
  );
  router.get(
    "/admin/risk/decisions",
    methodRoute("RISK", "recentDecisions", {
      args: (request) => {
        const q = parseQuery(request, DecisionsHttpQuery);
        return [{ limit: q.limit, deniedOnly: q.denied, code: q.code }];
      },
      wait: "read",
    }),
  );
  router.get(
    "/admin/circuit-breaker/history",
    methodRoute("RISK", "breakerHistory", {
      args: (request) => [parseQuery(request, BreakerHistoryHttpQuery).limit],
      wait: "read",
    }),
  );
}
