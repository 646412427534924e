import {
  ComplianceRuleSet,
  ErrorCode,
  HistoryRecordRequest,
  IngestionRunRequest,
  Sha256Hex,
} from "@paulp/contracts";
import { HttpError, parseOr400, readJsonBody, resultResponse, sha256Hex, unwrap } from "@paulp/kit";
import * as v from "valibot";
import { principalOf } from "../context";
import type { GatewayRouter } from "../router";

/** Admin routes of the ingestion worker: status, a manual run, compliance rules and evidence bytes. */
export function registerIngestionRoutes(router: GatewayRouter): void {
  router.get("/admin/ingestion/status", async (_request, env) =>
    resultResponse(await env.INGESTION.status()),
  );

  router.post("/admin/ingestion/run", async (request, env) => {
    // An empty body means "both venues, default pages".
    const body = await readJsonBody(request, v.optional(IngestionRunRequest, {}));
    return resultResponse(await env.INGESTION.runNow(body, principalOf(request)));
  });

  // Dev only: ingestion records a past window from the venue simulator (refused, 403, outside the dev config).
  router.post("/admin/ingestion/history", async (request, env) => {
    const body = await readJsonBody(request, HistoryRecordRequest);
    return resultResponse(await env.INGESTION.recordHistory(body, principalOf(request)));
  });

  router.get("/admin/compliance/rules", async (_request, env) =>
    resultResponse(await env.INGESTION.getComplianceRules()),
  );

  router.put("/admin/compliance/rules", async (request, env) => {
    const body = await readJsonBody(request, ComplianceRuleSet);
    return resultResponse(await env.INGESTION.putComplianceRules(body, principalOf(request)));
  });

  router.get("/admin/evidence/:hash", async (request, env) => {
    const hash = parseOr400(Sha256Hex, request.params.hash);
    const evidence = unwrap(await env.INGESTION.getEvidence(hash));
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
