/// <reference types="@paulp/audit-chain/node-crypto" />
// (the offline verifier hashes and checks signatures with node:crypto; audit-chain's shim types it without @types/node)

import { env } from "cloudflare:workers";
import { parseVerifierKey, verifyExport } from "@paulp/audit-chain";
import type { AuditReceiptCheck, AuditStatus, BreakerStatus, ReconciliationReport } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { adminFetch } from "./helpers";

const post = (path: string, body?: unknown) =>
  adminFetch(path, { method: "POST", ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
const auditStatus = async () => (await (await adminFetch("/admin/audit/status")).json()) as AuditStatus;
const pinned = () => ({ verifiers: [parseVerifierKey(env.TEST_AUDIT_VERIFIER_KEY)] });

describe("audit status ages and alerts, through the gateway", () => {
  it("shows the anchor key, the full verification's age and the alerts, in /admin/audit/status and /admin/status", async () => {
    let s = await auditStatus();
    expect(s.anchorVerifierKey).toBe(env.TEST_AUDIT_VERIFIER_KEY);
    expect(Array.isArray(s.alerts)).toBe(true);
    const full = await post("/admin/audit/verify", { mode: "full", untilComplete: true });
    expect(full.status).toBe(200);
    expect(await full.json()).toMatchObject({ mode: "full", ok: true, complete: true });
    s = await auditStatus();
    expect(s.lastFullVerification).toMatchObject({ mode: "full", ok: true });
    expect(s.lastFullVerificationAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(s.alerts.map((a) => a.code)).not.toContain("full_verification_overdue");
    const mesh = (await (await adminFetch("/admin/status")).json()) as { audit: Record<string, unknown> };
    expect(mesh.audit).toMatchObject({
      integrity: "ok",
      lastFullVerificationAgeSeconds: expect.any(Number),
      alerts: expect.any(Array),
    });
    expect(mesh.audit).toHaveProperty("oldestUnanchoredAgeSeconds");
    const bad = await post("/admin/audit/verify", { mode: "incremental", untilComplete: true });
    expect(bad.status).toBe(400);
  });

  it("exports signed checkpoints that verify offline with the pinned key, and fail after a one-byte change", async () => {
    await env.AUDIT.append({
      type: "test.signed",
      service: "risk",
      actor: { method: "system", subject: "t" },
      payload: { n: 1 },
    });
    const anchored = await post("/admin/audit/anchor");
    expect(anchored.status).toBe(200);
    const bytes = new Uint8Array(await (await adminFetch("/admin/audit/export")).arrayBuffer());
    expect(verifyExport(bytes, pinned())).toMatchObject({ ok: true, signaturesChecked: true });
    const text = new TextDecoder().decode(bytes);
    // One byte of the newest anchor's signature.
    const sig = text.lastIndexOf("— ");
    const at = text.indexOf(" ", sig + 2) + 10;
    const tampered = Uint8Array.from(bytes);
    const byte = new TextEncoder().encode(text.slice(0, at)).length;
    tampered[byte] = tampered[byte]! ^ 0x01;
    const report = verifyExport(tampered, pinned());
    expect(report.ok).toBe(false);
    expect(report.broken?.reason).toMatch(/checkpoint/);
  });
});

describe("POST /admin/audit/receipts/check", () => {
  it("answers that the chain holds a receipt a worker kept (the reconciliation's seq and hash)", async () => {
    const rec = await post("/admin/reconcile");
    expect(rec.status).toBe(200);
    const report = (await rec.json()) as ReconciliationReport;
    expect(report.auditHash).toMatch(/^[0-9a-f]{64}$/);
    const res = await post("/admin/audit/receipts/check", {
      receipts: [{ seq: report.auditSeq, hash: report.auditHash }],
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, checked: 1, held: 1, broken: [] });
  });

  it("refuses a malformed body with a 400 naming the field", async () => {
    for (const body of [
      {},
      { receipts: [] },
      { receipts: [{ seq: 1, hash: "xyz" }] },
      { receipts: [], x: 1 },
    ]) {
      const res = await post("/admin/audit/receipts/check", body);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: "validation_failed" } });
    }
  });

  it("a receipt above the head is a break: integrity broken and the breaker halted at once", async () => {
    const head = (await auditStatus()).headSeq;
    const res = await post("/admin/audit/receipts/check", {
      receipts: [{ seq: head + 1000, hash: "d".repeat(64) }],
    });
    expect(res.status).toBe(200);
    const check = (await res.json()) as AuditReceiptCheck;
    expect(check).toMatchObject({ ok: false, broken: [{ seq: head + 1000, reason: "above_head" }] });
    expect((await auditStatus()).integrity).toBe("broken");
    const breaker = (await (await adminFetch("/admin/circuit-breaker")).json()) as BreakerStatus;
    expect(breaker.state).toBe("HALT");
    expect(breaker.reason).toMatch(
      /audit_integrity_broken x1: audit receipt check: receipt seq \d+ is above the head/,
    );
  });
});
