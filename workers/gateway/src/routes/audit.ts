import { AuditReceiptList, ErrorCode } from "@paulp/contracts";
import { errorJson, readJsonBody, resultResponse, withTimeout } from "@paulp/kit";
import * as v from "valibot";
import { answer, ask, methodRoute, peerTimeoutMs, timedOut } from "../answer";
import { actorOnly, principalOf } from "../context";
import type { GatewayRouter } from "../router";

/** Body of `POST /admin/audit/verify`; empty means incremental. */
export const VerifyRequest = v.optional(
  v.strictObject({
    mode: v.optional(v.picklist(["incremental", "full"]), "incremental"),
    // `full` only: every step to the head in this one request (what the daily cron runs).
    untilComplete: v.optional(v.boolean()),
  }),
  {},
);

/** Body of `POST /admin/audit/receipts/check`: the receipts `{ seq, hash }` a caller kept. */
export const ReceiptCheckRequest = v.strictObject({ receipts: AuditReceiptList });

/** Admin routes of the audit chain: status, verification on request, and the NDJSON export. */
export function registerAuditRoutes(router: GatewayRouter): void {
  router.get("/admin/audit/status", methodRoute("AUDIT", "status", { wait: "read" }));

  // A completed verification answers 200 whatever it found: `ok`, `brokenSeq` and `reason` are in the body. It takes
  // as long as the chain asks (`full` with `untilComplete` walks it all), and its verdict is the point: waited for.
  router.post("/admin/audit/verify", async (request, env) => {
    const body = await readJsonBody(request, VerifyRequest);
    const mode = body.mode ?? "incremental";
    if (body.untilComplete && mode !== "full")
      return errorJson(400, {
        code: ErrorCode.validationFailed,
        message: "untilComplete: only a full verification is taken in steps",
      });
    const options = {
      mode,
      actor: principalOf(request),
      ...(body.untilComplete ? { untilComplete: true } : {}),
    };
    return answer(env, "AUDIT", (audit) => audit.verify(options), "audit.verify", "until answered");
  });

  // Does the chain still hold these receipts? A completed check answers 200 (read `ok` and `broken`). A receipt
  // above the head or with another hash is a break: audit integrity is broken, and the breaker is halted now
  // rather than at risk's next 5-minute watch.
  router.post("/admin/audit/receipts/check", async (request, env) => {
    const { receipts } = await readJsonBody(request, ReceiptCheckRequest, 128 * 1024);
    const actor = principalOf(request);
    // A check changes nothing (a break is acted on below): bounded as a read.
    const checked = await ask(
      env,
      "AUDIT",
      (audit) => audit.checkReceipts(receipts, actor),
      "audit.checkReceipts",
    );
    if (checked.ok && !checked.value.ok) {
      const first = checked.value.broken[0]!;
      const detail = `audit receipt check: ${first.detail}`.slice(0, 500);
      const halted = await ask(
        env,
        "RISK",
        (risk) => risk.reportFailure("audit_integrity_broken", detail, actor),
        "risk.reportFailure",
        { check: "GET /admin/circuit-breaker" },
      );
      if (!halted.ok) {
        // A report that timed out may still have halted the breaker: unknown, not failed.
        const unknown = halted.error.code === ErrorCode.upstreamTimeout;
        const told = unknown ? "whether the breaker was told is unknown" : "the breaker could not be told";
        return errorJson(unknown ? 504 : 503, {
          code: unknown ? ErrorCode.upstreamTimeout : ErrorCode.serviceUnavailable,
          message: `the chain does not hold ${checked.value.broken.length} receipt(s) and ${told}: ${halted.error.message}`,
          details: { check: checked.value },
        });
      }
    }
    return resultResponse(checked);
  });

  // Anchor now (after a critical event, or as `pnpm dev` stands in for the hourly cron); null when
  // nothing was appended since the last anchor.
  router.post(
    "/admin/audit/anchor",
    methodRoute("AUDIT", "anchorNow", {
      args: actorOnly,
      wait: { check: "GET /admin/audit/status" },
    }),
  );

  // Streams entries, mirror batches and anchors; feed the file to `pnpm audit:verify`.
  router.get("/admin/audit/export", async (_request, env) => {
    let stream: ReadableStream<Uint8Array>;
    const timeoutMs = peerTimeoutMs(env);
    try {
      // Called directly, not through rpc(): the answer is a stream, not a Result, and rpc()'s release copies it.
      // Its start is bounded as a read; the stream then runs as long as the client reads.
      stream = await withTimeout(env.AUDIT.exportNdjson(), timeoutMs, "audit.exportNdjson");
    } catch (error) {
      if ((error as Error)?.name === "TimeoutError")
        return resultResponse(timedOut("audit.exportNdjson", "read", timeoutMs));
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
