import {
  BreakerHistoryHttpQuery,
  DecisionsHttpQuery,
  EvidenceHttpQuery,
  MarketsHttpQuery,
} from "@paulp/contracts";
import { answer } from "../answer";
import type { GatewayRouter } from "../router";
import { parseQuery } from "./query";

/**
 * Read-only views of what the desk knows: markets (with their mark, its age and evidence hash), evidence by time
 * and venue, risk's recent decisions with their reasons, and the breaker's transitions.
 */
export function registerBrowseRoutes(router: GatewayRouter): void {
  router.get("/admin/markets", async (request, env) => {
    const q = parseQuery(request, MarketsHttpQuery);
    return answer(env, "INGESTION", (ingestion) => ingestion.listMarkets(q), "listMarkets");
  });

  router.get("/admin/evidence", async (request, env) => {
    const q = parseQuery(request, EvidenceHttpQuery);
    return answer(env, "INGESTION", (ingestion) => ingestion.listEvidence(q), "listEvidence");
  });

  router.get("/admin/risk/decisions", async (request, env) => {
    const q = parseQuery(request, DecisionsHttpQuery);
    return answer(
      env,
      "RISK",
      (risk) => risk.recentDecisions({ limit: q.limit, deniedOnly: q.denied, code: q.code }),
      "recentDecisions",
    );
  });

  router.get("/admin/circuit-breaker/history", async (request, env) => {
    const q = parseQuery(request, BreakerHistoryHttpQuery);
    return answer(env, "RISK", (risk) => risk.breakerHistory(q.limit), "breakerHistory");
  });
}
