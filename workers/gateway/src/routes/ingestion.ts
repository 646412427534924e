import {
  ComplianceRuleSet,
  ErrorCode,
  HistoryRecordRequest,
  IngestionRunRequest,
  Sha256Hex,
} from "@paulp/contracts";
import { HttpError, sha256Hex, unwrap } from "@paulp/kit";
import * as v from "valibot";
import { ask, bodyMethod, methodRoute, settingRoutes } from "../answer";
import { actorOnly } from "../context";
import type { GatewayRouter } from "../router";
import { pathParam } from "./query";

/** Admin routes of the ingestion worker: status, a manual run, compliance rules and evidence bytes. */
export function registerIngestionRoutes(router: GatewayRouter): void {
  router.get("/admin/ingestion/status", methodRoute("INGESTION", "status", { wait: "read" }));

  // A run pulls from the venues (each fetch bounded by ingestion) and its answer is what it pulled: waited for.
  // An empty body means "both venues, default pages".
  router.post(
    "/admin/ingestion/run",
    bodyMethod("INGESTION", "runNow", v.optional(IngestionRunRequest, {}), {
      wait: "until answered",
    }),
  );

  // Dev only: ingestion records a past window from the venue simulator (refused, 403, outside the dev config);
  // as long as the window asks, so waited for.
  router.post(
    "/admin/ingestion/history",
    bodyMethod("INGESTION", "recordHistory", HistoryRecordRequest, {
      wait: "until answered",
    }),
  );

  // One step of the evidence index audit now (the cron takes one after each run): the next page of the evidence
  // bucket, each object without a record recorded once its bytes re-hash to its name (docs/ingestion.md).
  router.post(
    "/admin/evidence/index-audit",
    methodRoute("INGESTION", "auditEvidenceIndex", {
      args: actorOnly,
      wait: { check: "GET /admin/ingestion/status" },
    }),
  );

  settingRoutes(
    router,
    "/admin/compliance/rules",
    "INGESTION",
    { read: "getComplianceRules", change: "putComplianceRules" },
    ComplianceRuleSet,
  );

  router.get("/admin/evidence/:hash", async (request, env) => {
    const hash = pathParam(request, "hash", Sha256Hex);
    const evidence = unwrap(
      await ask(env, "INGESTION", (ingestion) => ingestion.getEvidence(hash), "ingestion.getEvidence"),
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
