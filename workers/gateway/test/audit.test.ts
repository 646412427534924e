/// <reference types="@paulp/audit-chain/node-crypto" />
// (the offline verifier hashes with node:crypto; audit-chain's shim types it without @types/node)

import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { verifyExport } from "@paulp/audit-chain";
import type { AuditStatus, AuditVerification } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import type { Env } from "../src/env";
import { buildRouter } from "../src/router";
import { adminFetchOver, expectMappedFailure, failingPeer } from "./failing-peer";
import { adminFetch, gateway } from "./helpers";

async function status(): Promise<AuditStatus> {
  const res = await adminFetch("/admin/audit/status");
  expect(res.status).toBe(200);
  return (await res.json()) as AuditStatus;
}

/**
 * A request through the gateway's real router whose waitUntil work (the admin request's audit append) is awaited
 * before it answers, so the chain holds its record with no polling.
 */
async function settledFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await buildRouter().fetch(new Request(`https://gw.test${path}`, init), env as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("/admin/audit", () => {
  // Correctness under contention, not speed (the append rate is measured by `pnpm bench`): on a loaded 2-core
  // machine 1,000 appends through the real worker took over 20 s, hence the room.
  it("takes 1,000 concurrent appends through the real audit worker: distinct seqs, no gap, chain verifies", {
    timeout: 120_000,
  }, async () => {
    const receipts = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) =>
        env.AUDIT.append({
          type: "test.concurrent",
          service: "risk",
          actor: { method: "system", subject: "t" },
          payload: { i },
        }),
      ),
    );
    const seqs = receipts.map((r) => (r.ok ? r.value.seq : -1)).sort((a, b) => a - b);
    expect(seqs[0]).toBeGreaterThan(0);
    expect(new Set(seqs).size).toBe(1_000);
    // Other test files may append through the same worker meanwhile, so contiguity is checked on the
    // whole chain: the export must verify, and hold each receipt's hash at its seq.
    const text = await (await adminFetch("/admin/audit/export")).text();
    expect(verifyExport(text).ok).toBe(true);
    const bySeq = new Map(
      text
        .split("\n")
        .filter((l) => l.includes('"kind":"entry"'))
        .map((l) => JSON.parse(l) as { seq: number; hash: string })
        .map((e) => [e.seq, e.hash]),
    );
    for (const r of receipts) if (r.ok) expect(bySeq.get(r.value.seq)).toBe(r.value.hash);
  });

  it("shows status: head, counts, anchors, mirror lag, verification and integrity", async () => {
    const s = await status();
    expect(s).toMatchObject({
      headSeq: expect.any(Number),
      headHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      entryCount: s.headSeq,
      r2MirrorLag: expect.any(Number),
      unanchoredEntries: expect.any(Number),
    });
    expect(["ok", "broken", "unknown"]).toContain(s.integrity);
  });

  it("records every admin request in the chain (who, route, outcome) and never the credential", async () => {
    const allowed = await settledFetch("/admin/audit/status", {
      headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` },
    });
    expect(allowed.status).toBe(200);
    const denied = await settledFetch("/admin/audit/status", {
      headers: { authorization: "Bearer wrong-token" },
    });
    expect(denied.status).toBe(401);
    const res = await adminFetch("/admin/audit/export");
    const text = await res.text();
    expect(text).not.toContain(env.ADMIN_TOKEN);
    expect(text).not.toContain("wrong-token");
    const entries = text
      .split("\n")
      .filter((l) => l.includes('"kind":"entry"'))
      .map((l) => JSON.parse(l));
    const requests = entries.filter((e) => e.type === "gateway.admin_request");
    expect(requests.some((e) => e.payload.outcome === "denied" && e.payload.status === 401)).toBe(true);
    expect(
      requests.some((e) => e.actor.subject === "admin-token" && e.payload.path === "/admin/audit/status"),
    ).toBe(true);
  });

  it("verifies on request, full or incremental, as the authenticated principal", async () => {
    const full = await adminFetch("/admin/audit/verify", {
      method: "POST",
      body: JSON.stringify({ mode: "full" }),
    });
    expect(full.status).toBe(200);
    const v = (await full.json()) as AuditVerification;
    expect(v).toMatchObject({ mode: "full", ok: true, fromSeq: 1 });
    expect(v.checkedEntries).toBeGreaterThan(0);
    const incremental = await adminFetch("/admin/audit/verify", { method: "POST" });
    expect(incremental.status).toBe(200);
    expect(await incremental.json()).toMatchObject({ mode: "incremental", ok: true });
    expect((await status()).lastVerification).toMatchObject({ mode: "incremental", ok: true });
  });

  it("refuses a bad verify body or a missing credential, and runs no verification", async () => {
    const before = (await status()).lastVerification;
    const bad = await adminFetch("/admin/audit/verify", {
      method: "POST",
      body: JSON.stringify({ mode: "partial" }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: { code: "validation_failed", message: expect.stringMatching(/mode/) },
    });
    const extra = await adminFetch("/admin/audit/verify", {
      method: "POST",
      body: JSON.stringify({ mode: "full", x: 1 }),
    });
    expect(extra.status).toBe(400);
    const notJson = await adminFetch("/admin/audit/verify", { method: "POST", body: "{" });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: { code: "invalid_json" } });
    const anonymous = await gateway().fetch("https://gw.test/admin/audit/verify", {
      method: "POST",
      body: "{}",
    });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { code: "unauthorized" } });
    expect((await status()).lastVerification).toEqual(before);
  });

  it("exports NDJSON that verifies offline, and fails with one byte changed", async () => {
    await env.AUDIT.anchorNow({ method: "system", subject: "test" });
    const res = await adminFetch("/admin/audit/export");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/application\/x-ndjson/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const bytes = new Uint8Array(await res.arrayBuffer());
    const report = verifyExport(bytes);
    expect(report.ok).toBe(true);
    expect(report.anchors).toBeGreaterThan(0);
    // Flip one byte in the first entry's hash.
    const text = new TextDecoder().decode(bytes);
    const at = text.indexOf('"hash":"', text.indexOf('"kind":"entry"') - 200) + 8;
    const tampered = Uint8Array.from(bytes);
    tampered[at] = tampered[at] === 0x61 ? 0x62 : 0x61;
    const broken = verifyExport(tampered);
    expect(broken.ok).toBe(false);
    expect(broken.broken?.seq).toBe(1);
  });
});

describe("POST /admin/audit/anchor", () => {
  it("anchors the head on demand and shows the anchor in the status", async () => {
    const first = await adminFetch("/admin/audit/anchor", { method: "POST" });
    expect(first.status).toBe(200);
    const anchor = (await first.json()) as { anchorNo: number; toSeq: number } | null;
    expect(anchor).not.toBeNull();
    const status = (await (await adminFetch("/admin/audit/status")).json()) as {
      lastAnchor: { anchorNo: number } | null;
    };
    expect(status.lastAnchor?.anchorNo).toBe(anchor!.anchorNo);
  });
});

// The audit routes call the worker through rpc() (#17): one that throws or answers no result is the mapped JSON
// error every other route gives, never the gateway's own 500 (a plain throw was one before).
describe("audit admin routes over an audit worker that fails", () => {
  const routes: [method: string, path: string, call: string][] = [
    ["GET", "/admin/audit/status", "status"],
    ["POST", "/admin/audit/verify", "verify"],
    ["POST", "/admin/audit/anchor", "anchorNow"],
  ];
  for (const how of ["throws", "answers nothing"] as const)
    it(`answers each route's call that ${how} as the mapped error naming the call`, async () => {
      const AUDIT = failingPeer(
        routes.map(([, , call]) => call),
        how,
      );
      for (const [method, path, call] of routes)
        await expectMappedFailure(await adminFetchOver({ AUDIT }, path, { method }), how, `audit.${call}`);
    });

  // The export stays a direct call (a stream is no Result for rpc() to release): its own refusal, still JSON.
  it("refuses the export with 503 audit_unavailable when the worker throws", async () => {
    const res = await adminFetchOver(
      { AUDIT: failingPeer(["exportNdjson"], "throws") },
      "/admin/audit/export",
    );
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      error: { code: "audit_unavailable", message: "audit export unavailable" },
    });
  });
});
