// `GET /admin/evidence/export` (#18) through the real workers: the export of a window is what `pnpm replay` reads
// (readExport), counts as the fetch log does, replays to the mesh's report hash for the same window, and is audited;
// an object altered in R2 cuts it off before its trailer, so it is refused. Bad queries are 400, no token 401.
import { env } from "cloudflare:workers";
import { readExport, replayExport, reportFile } from "@paulp/replay";
import { untilSettled } from "@paulp/testing/until";
import { describe, expect, it } from "vitest";
import { adminFetch, auditEntries, gateway, paperStrategy, post } from "./helpers";

/** Everything the stream sent, and the error that ended it (a cut-off export), if any. */
async function readAll(res: Response): Promise<{ text: string; error: unknown }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text: text + decoder.decode(), error: null };
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
}

/** Ingest one page of each venue through the simulator; answers a window around it, ending now. */
async function ingested(): Promise<{ from: string; to: string }> {
  const from = new Date(Date.now() - 1_000).toISOString();
  const run = await adminFetch("/admin/ingestion/run", post({ maxPages: 1, pageSize: 20 }));
  expect(run.status).toBe(200);
  return { from, to: new Date().toISOString() };
}

const logged = async (w: { from: string; to: string }) =>
  (await env.TEST_D1_MARKETS.prepare(
    "SELECT COUNT(*) AS n, COUNT(DISTINCT hash) AS d FROM evidence_fetches WHERE fetched_at >= ?1 AND fetched_at < ?2",
  )
    .bind(w.from, w.to)
    .first<{ n: number; d: number }>())!;

const exportOf = (w: { from: string; to: string }) =>
  adminFetch(`/admin/evidence/export?from=${encodeURIComponent(w.from)}&to=${encodeURIComponent(w.to)}`);

describe("GET /admin/evidence/export", () => {
  it("streams the window's evidence as readExport reads it, audited, and it replays to the mesh's report hash", async () => {
    const window = await ingested();
    const res = await exportOf(window);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(
      /^attachment; filename="paulp-evidence-\d{8}T\d{6}Z-\d{8}T\d{6}Z\.ndjson"$/,
    );
    const { text, error } = await readAll(res);
    expect(error).toBeNull();
    const read = readExport(text);
    if (!read.ok) throw new Error(read.refusal.message);
    const { n, d } = await logged(window);
    expect(n).toBeGreaterThan(2);
    expect([read.set.sightings.length, read.set.objects.size]).toEqual([n, d]);
    expect(read.window).toEqual(window);

    const requested = await auditEntries("gateway.evidence_export_requested");
    const ended = await auditEntries("gateway.evidence_export_ended");
    expect(requested.at(-1)?.payload.window).toEqual(window);
    expect(ended.at(-1)?.payload).toMatchObject({
      outcome: "complete",
      objects: d,
      sightings: n,
      failure: null,
    });

    // The mesh's replay of a strategy over the same window, and the engine over the exported file: one report.
    const strategyId = await paperStrategy("Export replay");
    const started = await adminFetch("/admin/replays", post({ strategyId, ...window }));
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string };
    const answer = await untilComplete(id);
    const file = reportFile(answer);
    if ("error" in file) throw new Error(file.error);
    const offline = await replayExport(text, file.report.manifest, file);
    if (!offline.ok) throw new Error(offline.message);
    expect(offline.report.manifest.sightings).toBe(n);
    expect(offline.reportHash).toBe(answer.replay.reportHash);
    expect(offline.expectedHash).toBe(answer.replay.reportHash);
  });

  it("is cut off before its trailer when a stored object was altered in R2, so the file is refused", async () => {
    const window = await ingested();
    const victim = (await env.TEST_D1_MARKETS.prepare(
      "SELECT hash FROM evidence_fetches WHERE fetched_at >= ?1 AND fetched_at < ?2 ORDER BY fetched_at DESC, id DESC LIMIT 1",
    )
      .bind(window.from, window.to)
      .first<{ hash: string }>())!.hash;
    const stored = await env.TEST_R2_EVIDENCE.get(victim);
    const bytes = new Uint8Array(await stored!.arrayBuffer());
    bytes[0] = bytes[0]! ^ 1;
    await env.TEST_R2_EVIDENCE.put(victim, bytes);

    const res = await exportOf(window);
    expect(res.status).toBe(200);
    const { text, error } = await readAll(res);
    expect(error).not.toBeNull();
    const read = readExport(text);
    expect(read.ok ? "accepted" : read.refusal.code).toBe("export_truncated");
    expect(text).not.toContain(`"hash":"${victim}","base64"`);
    const ended = await auditEntries("gateway.evidence_export_ended");
    expect(ended.at(-1)?.payload).toMatchObject({ outcome: "failed" });
    expect(String(ended.at(-1)?.payload.failure)).toContain(victim);
  });

  it("answers a bad query 400 JSON naming it, and nothing without credentials", async () => {
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    for (const [query, field] of [
      ["", "from"],
      [`from=${iso(now - 60_000)}`, "to"],
      [`from=yesterday&to=${iso(now)}`, "from"],
      [`from=${iso(now - 1_000)}&to=${iso(now - 2_000)}`, "to: from must be before to"],
      [`from=${iso(now - 32 * 86_400_000)}&to=${iso(now - 60_000)}`, "to: an export covers at most 31 days"],
      [`from=${iso(now - 60_000)}&to=${iso(now + 3_600_000)}`, "future"],
      [`from=${iso(now - 60_000)}&to=${iso(now - 1_000)}&venue=kalshi`, "venue"],
    ] as const) {
      const res = await adminFetch(`/admin/evidence/export?${query.replaceAll("+", "%2B")}`);
      expect(res.status, query).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("validation_failed");
      expect(body.error.message, query).toContain(field);
    }
    const res = await gateway().fetch(
      `https://gw.test/admin/evidence/export?from=${iso(now - 60_000)}&to=${iso(now - 1_000)}`,
    );
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
  });
});

interface ReplayAnswer {
  replay: { status: string; reportHash: string };
  report: unknown;
}

/** The replay's record until it ends (it runs under ingestion's own alarms, which a test cannot drive). */
async function untilComplete(id: string): Promise<ReplayAnswer> {
  const answer = await untilSettled(
    async () => (await (await adminFetch(`/admin/replays/${id}`)).json()) as ReplayAnswer,
    (r) => r.replay.status !== "running",
    400,
  );
  expect(answer.replay.status).toBe("complete");
  return answer;
}
