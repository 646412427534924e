import {
  BreakerHistoryHttpQuery,
  DecisionsHttpQuery,
  EvidenceHttpQuery,
  type IngestionRpc,
  MarketsHttpQuery,
  type RiskRpc,
} from "@paulp/contracts";
import { resultResponse } from "@paulp/kit";
import type { Env } from "../env";
import type { GatewayRouter } from "../router";
import { parseQuery } from "./query";

const riskOf = (env: Env) => env.RISK as unknown as RiskRpc;
const ingestionOf = (env: Env) => env.INGESTION as unknown as IngestionRpc;

/**
 * Read-only views of what the desk knows: markets (with their mark, its age and evidence hash), evidence by time
 * and venue, risk's recent decisions with their reasons, and the breaker's transitions.
 */
export function registerBrowseRoutes(router: GatewayRouter): void {
  router.get("/admin/markets", async (request, env) => {
    const q = parseQuery(request, MarketsHttpQuery);
    return resultResponse(await ingestionOf(env).listMarkets(q));
  });

  router.get("/admin/evidence", async (request, env) => {
    const q = parseQuery(request, EvidenceHttpQuery);
    return resultResponse(await ingestionOf(env).listEvidence(q));
  });

  router.get("/admin/risk/decisions", async (request, env) => {
    const q = parseQuery(request, DecisionsHttpQuery);
    return resultResponse(
      await riskOf(env).recentDecisions({ limit: q.limit, deniedOnly: q.denied, code: q.code }),
    );
  });

  router.get("/admin/circuit-breaker/history", async (request, env) => {
    const q = parseQuery(request, BreakerHistoryHttpQuery);
    return resultResponse(await riskOf(env).breakerHistory(q.limit));
  });
}
