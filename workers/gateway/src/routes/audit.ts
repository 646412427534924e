import { ErrorCode } from "@paulp/contracts";
import { errorJson, readJsonBody, resultResponse } from "@paulp/kit";
import * as v from "valibot";
import { principalOf } from "../context";
import type { GatewayRouter } from "../router";

/** Body of `POST /admin/audit/verify`; empty means incremental. */
export const VerifyRequest = v.optional(
  v.strictObject({ mode: v.optional(v.picklist(["incremental", "full"]), "incremental") }),
  {},
);

/** Admin routes of the audit chain: status, verification on request, and the NDJSON export. */
export function registerAuditRoutes(router: GatewayRouter): void {
  router.get("/admin/audit/status", async (_request, env) => resultResponse(await env.AUDIT.status()));

  // A completed verification answers 200 whatever it found: `ok`, `brokenSeq` and `reason` are in the body.
  router.post("/admin/audit/verify", async (request, env) => {
    const body = await readJsonBody(request, VerifyRequest);
    return resultResponse(
      await env.AUDIT.verify({ mode: body.mode ?? "incremental", actor: principalOf(request) }),
    );
  });

  // Streams entries, mirror batches and anchors; feed the file to `pnpm audit:verify`.
  // Anchor now (after a critical event, or as `pnpm dev` stands in for the hourly cron); null when
  // nothing was appended since the last anchor.
  router.post("/admin/audit/anchor", async (request, env) =>
    resultResponse(await env.AUDIT.anchorNow(principalOf(request))),
  );

  router.get("/admin/audit/export", async (_request, env) => {
    let stream: ReadableStream<Uint8Array>;
    try {
      stream = await env.AUDIT.exportNdjson();
    } catch {
      return errorJson(503, { code: ErrorCode.auditUnavailable, message: "audit export unavailable" });
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    return new Response(stream, {
      headers: {
        "content-type": "application/x-ndjson; charset=utf-8",
        "cache-control": "no-store",
        "content-disposition": `attachment; filename="paulp-audit-${stamp}.ndjson"`,
      },
    });
  });
}
