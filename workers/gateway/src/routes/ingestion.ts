import {
  ComplianceRuleSet,
  ErrorCode,
  HistoryRecordRequest,
  IngestionRunRequest,
  Sha256Hex,
} from "@paulp/contracts";
import { HttpError, parseOr400, readJsonBody, rpc, sha256Hex, unwrap } from "@paulp/kit";
import * as v from "valibot";
import { answer } from "../answer";
import { principalOf } from "../context";
import type { GatewayRouter } from "../router";

/** Admin routes of the ingestion worker: status, a manual run, compliance rules and evidence bytes. */
export function registerIngestionRoutes(router: GatewayRouter): void {
  router.get("/admin/ingestion/status", async (_request, env) =>
    answer(env.INGESTION, (ingestion) => ingestion.status(), "ingestion.status"),
  );

  router.post("/admin/ingestion/run", async (request, env) => {
    // An empty body means "both venues, default pages".
    const body = await readJsonBody(request, v.optional(IngestionRunRequest, {}));
    const actor = principalOf(request);
    return answer(env.INGESTION, (ingestion) => ingestion.runNow(body, actor), "ingestion.runNow");
  });

  // Dev only: ingestion records a past window from the venue simulator (refused, 403, outside the dev config).
  router.post("/admin/ingestion/history", async (request, env) => {
    const body = await readJsonBody(request, HistoryRecordRequest);
    const actor = principalOf(request);
    return answer(
      env.INGESTION,
      (ingestion) => ingestion.recordHistory(body, actor),
      "ingestion.recordHistory",
    );
  });

  router.get("/admin/compliance/rules", async (_request, env) =>
    answer(env.INGESTION, (ingestion) => ingestion.getComplianceRules(), "ingestion.getComplianceRules"),
  );

  router.put("/admin/compliance/rules", async (request, env) => {
    const body = await readJsonBody(request, ComplianceRuleSet);
    const actor = principalOf(request);
    return answer(
      env.INGESTION,
      (ingestion) => ingestion.putComplianceRules(body, actor),
      "ingestion.putComplianceRules",
    );
  });

  router.get("/admin/evidence/:hash", async (request, env) => {
    const hash = parseOr400(Sha256Hex, request.params.hash);
    const evidence = unwrap(
      await rpc(env.INGESTION, (ingestion) => ingestion.getEvidence(hash), { what: "ingestion.getEvidence" }),
    );
    // Re-hashed here too: what leaves the gateway is exactly what was stored, or an error.
    const actual = await sha256Hex(evidence.bytes);
    if (actual !== hash)
      throw new HttpError(500, ErrorCode.integrityBroken, `evidence ${hash} re-hashes to ${actual}`);
    return new Response(evidence.bytes, {
      status: 200,
      headers: {
        // Venue bytes are untrusted: never rendered by a browser on the admin origin.
        "content-type": "application/octet-stream",
        "content-security-policy": "default-src 'none'; sandbox",
        "x-content-type-options": "nosniff",
        "cache-control": "no-store",
        "x-evidence-sha256": hash,
        "x-evidence-content-type": evidence.contentType.slice(0, 200),
        "x-evidence-venue": evidence.venue,
        "x-evidence-url": evidence.url.slice(0, 1000),
      },
    });
  });
}
