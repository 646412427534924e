import {
  ExecutionPolicyChange,
  HedgeObligationAbandon,
  HedgeObligationsHttpQuery,
  OrderIntent,
  OrderQuery,
  type OrderView,
  type RiskDecision,
} from "@paulp/contracts";
import { json, parseOr400, readJsonBody, sha256Hex, unwrap } from "@paulp/kit";
import * as v from "valibot";
import { answer, ask, methodRoute, settingRoutes } from "../answer";
import { actorOnly, type GatewayRequest, principalOf } from "../context";
import type { Env } from "../env";
import type { GatewayRouter } from "../router";
import { parseQuery, pathParam } from "./query";

const ClientOrderId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{8,64}$/, "8–64 of [A-Za-z0-9_-]"));
/** Evidence bytes returned inline in a trace, per hash (the hash and length always are). */
const TRACE_INLINE_BYTES = 64 * 1024;

/** A manual order: an intent whose client order id defaults to one derived from the request id. */
export const ManualOrder = v.object({
  ...OrderIntent.entries,
  clientOrderId: v.optional(OrderIntent.entries.clientOrderId),
});

/** `GET /admin/orders`' filters (`limit` is a number in the contract, a string in the query). */
function orderQuery(request: GatewayRequest): OrderQuery {
  const url = new URL(request.url);
  const limit = url.searchParams.get("limit");
  return parseOr400(OrderQuery, {
    state: url.searchParams.get("state") ?? undefined,
    strategyId: url.searchParams.get("strategyId") ?? undefined,
    limit: limit === null ? undefined : Number(limit),
  });
}

function orderId(request: GatewayRequest): string {
  return pathParam(request, "id", ClientOrderId);
}

function b64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** order → the risk decision it consumed → each evidence hash's raw bytes (re-hashed) → the pair approval. */
async function trace(env: Env, order: OrderView) {
  const decision: RiskDecision | null = order.decision;
  const evidence = await Promise.all(
    order.intent.evidenceHashes.map(async (hash) => {
      const r = await ask(
        env,
        "INGESTION",
        (ingestion) => ingestion.getEvidence(hash),
        "ingestion.getEvidence",
      );
      if (!r.ok) return { hash, ok: false, error: r.error };
      const bytes = r.value.bytes;
      const recomputed = await sha256Hex(bytes);
      return {
        hash,
        // Ingestion re-hashes on read; the gateway checks once more so the trace proves it end to end.
        ok: recomputed === hash,
        sha256: recomputed,
        byteLength: bytes.byteLength,
        contentType: r.value.contentType,
        venue: r.value.venue,
        url: r.value.url,
        // Every request these bytes answered (identical bytes are stored once).
        sightings: r.value.sightings ?? [],
        truncated: bytes.byteLength > TRACE_INLINE_BYTES,
        bytesBase64: b64(bytes.subarray(0, TRACE_INLINE_BYTES)),
      };
    }),
  );
  let pair: unknown = null;
  const pairId = order.context?.pairId;
  if (pairId) {
    const pairs = await ask(
      env,
      "GOVERNANCE",
      (governance) => governance.tradablePairs(),
      "governance.tradablePairs",
    );
    const current = pairs.ok ? pairs.value.find((p) => p.pairId === pairId) : undefined;
    pair = {
      pairId,
      atDecision: {
        approvedBy: order.context?.pairApprovedBy ?? null,
        approvedAt: order.context?.pairApprovedAt ?? null,
      },
      now: pairs.ok
        ? current
          ? {
              tradable: true,
              approvedBy: current.approvedBy,
              approvedAt: current.approvedAt,
              grade: current.grade,
              yesMapsTo: current.yesMapsTo,
            }
          : { tradable: false }
        : { error: pairs.error },
    };
  }
  return {
    order,
    decision: decision
      ? {
          ...decision,
          // The decision binds this exact intent: its hash is the order's.
          matchesIntent: decision.intentHash === order.intentHash,
        }
      : null,
    evidence,
    pair,
  };
}

export function registerExecutionRoutes(router: GatewayRouter): void {
  router.get(
    "/admin/orders",
    methodRoute("EXECUTION", "listOrders", { args: (request) => [orderQuery(request)], wait: "read" }),
  );

  // The fast path that keeps traded markets' marks fresh: the traded set with when each was last refreshed, its
  // counters, and one tick now.
  router.get("/admin/execution/fast-path", methodRoute("EXECUTION", "fastPathStatus", { wait: "read" }));
  router.post(
    "/admin/execution/fast-path/run",
    methodRoute("EXECUTION", "refreshTradedNow", { wait: "until answered" }),
  );

  /**
   * Routes that reach a venue (an order placed or cancelled, the loop, reconciliation, a fast-path tick) wait until
   * execution answers: each venue call is bounded there (VENUE_TIMEOUT_MS), and the answer is the order's state,
   * which a gateway timeout would leave unknown while the order is in flight. Everything else is bounded.
   *
   * A manual order takes the same path as the loop: execution persists the intent, risk decides and consumes
   * its approval in one step, then execution submits. A denial is 422 `risk_denied` with the decision's reasons.
   */
  router.post("/admin/orders", async (request, env) => {
    const actor = principalOf(request);
    const body = await readJsonBody(request, ManualOrder);
    const intent: OrderIntent = {
      ...body,
      clientOrderId:
        body.clientOrderId ?? `man-${request.requestId}`.replace(/[^A-Za-z0-9_-]/g, "").slice(0, 64),
    };
    const submitted = unwrap(
      await ask(
        env,
        "EXECUTION",
        (execution) => execution.placeOrder(intent, actor, { kind: "manual" }),
        "execution.placeOrder",
        "until answered",
      ),
    );
    return json(submitted, submitted.duplicate ? 200 : 201);
  });

  router.get(
    "/admin/orders/:id",
    methodRoute("EXECUTION", "getOrder", { args: (request) => [orderId(request)], wait: "read" }),
  );

  router.get("/admin/orders/:id/trace", async (request, env) => {
    const id = orderId(request);
    const order = unwrap(
      await ask(env, "EXECUTION", (execution) => execution.getOrder(id), "execution.getOrder"),
    );
    return json(await trace(env, order));
  });

  router.post(
    "/admin/orders/:id/cancel",
    methodRoute("EXECUTION", "cancelOrder", {
      args: (request) => [orderId(request), principalOf(request)],
      wait: "until answered",
    }),
  );

  router.get("/admin/positions", methodRoute("EXECUTION", "getPositions", { wait: "read" }));

  // Fills whose IBKR hedge is owed and not placed (the loop retries each run; the monitor alerts on old ones),
  // and an operator taking one over (hedged by hand, or accepted), audited with the reason.
  router.get(
    "/admin/execution/hedge-obligations",
    methodRoute("EXECUTION", "listHedgeObligations", {
      args: (request) => [parseQuery(request, HedgeObligationsHttpQuery)],
      wait: "read",
    }),
  );

  router.post("/admin/execution/hedge-obligations/:id/abandon", async (request, env) => {
    const id = orderId(request);
    const { reason } = await readJsonBody(request, HedgeObligationAbandon);
    const actor = principalOf(request);
    return answer(
      env,
      "EXECUTION",
      (execution) => execution.abandonHedgeObligation(id, reason, actor),
      "execution.abandonHedgeObligation",
      { check: "GET /admin/execution/hedge-obligations" },
    );
  });

  /**
   * The policy. To paper: applied at once. To live: 403 `approval_required` naming `execution.policy_live` and the
   * exact payload to request at POST /admin/approvals; the desk applies it with its receipt, never this route.
   */
  settingRoutes(
    router,
    "/admin/execution/policy",
    "EXECUTION",
    { read: "getPolicy", change: "setPolicy" },
    ExecutionPolicyChange,
  );

  // Run the trading loop now, as the per-minute cron does: resolve unknown orders first (a failure there is
  // logged by the cron and does not stop the loop); also how `pnpm dev` drives it.
  router.post("/admin/execution/run", async (request, env) => {
    const actor = principalOf(request);
    const resolved = await ask(
      env,
      "EXECUTION",
      (execution) => execution.resolveUnknown(actor),
      "execution.resolveUnknown",
      "until answered",
    );
    if (!resolved.ok) console.warn(`resolveUnknown before the loop failed: ${resolved.error.code}`);
    return answer(
      env,
      "EXECUTION",
      (execution) => execution.runTradingLoop(actor),
      "execution.runTradingLoop",
      "until answered",
    );
  });

  router.post(
    "/admin/reconcile",
    methodRoute("EXECUTION", "reconcile", {
      args: actorOnly,
      wait: "until answered",
    }),
  );
}
