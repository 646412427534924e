// `GET /admin/evidence/export?from=&to=` (#18): the evidence of a window as `pnpm replay` reads it, streamed as it is
// read (a page of ingestion's fetch log, then a bounded batch of objects, at a time; the file is never held whole).
// The export is audited before its first byte (fail closed); how it ended is audited when its stream ends. A stored
// object that no longer matches its hash ends the stream with an error before the trailer: the file is refused.
import {
  ErrorCode,
  EvidenceExportHttpQuery,
  err,
  type FetchLogPage,
  MAX_FETCH_LOG_PAGE,
  type Result,
} from "@paulp/contracts";
import { auditAppend, resultResponse } from "@paulp/kit";
import { type ExportPorts, exportChunks, exportFileName } from "@paulp/replay";
import { ask } from "../answer";
import { principalOf } from "../context";
import type { Env } from "../env";
import type { GatewayRouter } from "../router";
import { parseQuery } from "./query";

/**
 * Ports of the export over ingestion's RPC, each call bounded as a read; a failed or timed-out call throws (the stream
 * ends cut off, without a trailer).
 */
function ingestionPorts(env: Env, window: { from: string; to: string }, first: FetchLogPage): ExportPorts {
  const must = <T>(r: Result<T>): T => {
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    return r.value;
  };
  return {
    async page(cursor) {
      const page =
        cursor === null
          ? first
          : must(
              await ask(
                env,
                "INGESTION",
                (i) => i.listFetches({ ...window, cursor, limit: MAX_FETCH_LOG_PAGE }),
                "ingestion.listFetches",
              ),
            );
      return { fetches: page.fetches, hashes: page.hashes, cursor: page.cursor };
    },
    async objects(hashes) {
      return must(
        await ask(env, "INGESTION", (i) => i.getEvidenceObjects(hashes), "ingestion.getEvidenceObjects"),
      );
    },
  };
}

export function registerEvidenceExportRoutes(router: GatewayRouter): void {
  // Registered before `/admin/evidence/:hash`, which would otherwise take "export" for a hash.
  router.get("/admin/evidence/export", async (request, env) => {
    const q = parseQuery(request, EvidenceExportHttpQuery);
    const now = Date.now();
    if (Date.parse(q.to) > now) {
      return resultResponse(
        err(
          ErrorCode.validationFailed,
          "to: an export covers evidence already fetched (to must not be in the future)",
        ),
      );
    }
    // The fetch log's own form (UTC, milliseconds), as a replay of the same window records it in its manifest.
    const window = { from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString() };
    // The first page before anything is promised: ingestion unavailable is an error answer, not a cut-off file.
    const first = await ask(
      env,
      "INGESTION",
      (i) => i.listFetches({ ...window, limit: MAX_FETCH_LOG_PAGE }),
      "ingestion.listFetches",
    );
    if (!first.ok) return resultResponse(first);
    const actor = principalOf(request);
    const requestId = request.requestId ?? null;
    const requested = await auditAppend(env.AUDIT, {
      type: "gateway.evidence_export_requested",
      service: "gateway",
      actor,
      payload: { requestId, window },
    });
    if (!requested.ok) return resultResponse(requested);

    const counts = { objects: 0, sightings: 0 };
    const chunks = exportChunks(
      ingestionPorts(env, window, first.value),
      window,
      new Date(now).toISOString(),
      counts,
    );
    const ended = async (failure: string | null) => {
      const audited = await auditAppend(env.AUDIT, {
        type: "gateway.evidence_export_ended",
        service: "gateway",
        actor,
        payload: { requestId, window, outcome: failure === null ? "complete" : "failed", ...counts, failure },
      });
      if (!audited.ok) console.error(`evidence export audit failed: ${audited.error.code}`);
    };
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      // One chunk a pull: the next page's sightings or batch of objects, read only when the client takes more.
      async pull(controller) {
        try {
          const next = await chunks.next();
          if (next.done) {
            await ended(null);
            controller.close();
          } else {
            controller.enqueue(encoder.encode(next.value));
          }
        } catch (error) {
          const message = String((error as Error)?.message ?? error).slice(0, 500);
          console.error(`evidence export cut off: ${message}`);
          await ended(message);
          controller.error(error);
        }
      },
      async cancel() {
        await chunks.return(undefined);
        await ended("the client stopped reading");
      },
    });
    return new Response(body, {
      status: 200,
      headers: {
        "content-type": "application/x-ndjson; charset=utf-8",
        "content-disposition": `attachment; filename="${exportFileName(window)}"`,
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
      },
    });
  });
}
