// The evidence index audit through the gateway and the real workers behind it (ingestion, audit, monitor): an object
// in the evidence bucket that is not evidence is audited, never recorded, shown in the status and raised as a
// critical alert; once removed, the next whole walk clears the alert. docs/ingestion.md.
import { env } from "cloudflare:workers";
import type { AlertsView, EvidenceIndexAuditStatus, EvidenceIndexStep } from "@paulp/contracts";
import { sha256Hex } from "@paulp/kit";
import { describe, expect, it } from "vitest";
import { adminFetch, auditEntries, gateway } from "./helpers";

async function step(): Promise<EvidenceIndexStep> {
  const res = await adminFetch("/admin/evidence/index-audit", { method: "POST" });
  expect(res.status).toBe(200);
  return (await res.json()) as EvidenceIndexStep;
}

async function index(): Promise<EvidenceIndexAuditStatus> {
  const status = (await (await adminFetch("/admin/ingestion/status")).json()) as {
    evidenceIndex: EvidenceIndexAuditStatus;
  };
  return status.evidenceIndex;
}

async function alert(): Promise<AlertsView["active"][number] | undefined> {
  expect((await adminFetch("/admin/alerts/evaluate", { method: "POST" })).status).toBe(200);
  const view = (await (await adminFetch("/admin/alerts")).json()) as AlertsView;
  return view.active.find((a) => a.key === "evidence_unvouched");
}

describe("the evidence index audit", () => {
  it("is refused without credentials, and nothing is walked", async () => {
    const res = await gateway().fetch("https://gw.test/admin/evidence/index-audit", { method: "POST" });
    expect(res.status).toBe(401);
    expect(await index()).toMatchObject({ passesCompleted: 0, lastStepAt: null });
  });

  it("audits what is not evidence, leaves a just-written object for later, alerts, and clears once a walk meets none", async () => {
    await env.TEST_R2_EVIDENCE.put("notes/not-evidence.txt", "hello");
    // The put half of a fetch (as putEvidence writes it), just now: its record may still be on its way.
    const bytes = new TextEncoder().encode('{"markets":[],"cursor":""}');
    const hash = await sha256Hex(bytes);
    await env.TEST_R2_EVIDENCE.put(hash, bytes, {
      sha256: hash,
      customMetadata: {
        venue: "kalshi",
        url: "https://api.elections.kalshi.com/trade-api/v2/markets",
        status: "200",
        fetchedAt: new Date().toISOString(),
      },
    });

    expect(await step()).toEqual({
      checked: 2,
      recorded: 0,
      young: 1,
      deferred: 0,
      unvouched: ["notes/not-evidence.txt"],
      passCompleted: true,
    });
    expect(await index()).toMatchObject({ passesCompleted: 1, midPass: false, unvouchedLastWalk: 1 });
    const audited = await auditEntries("ingestion.evidence_unvouched");
    expect(audited).toHaveLength(1);
    expect(audited[0]!.payload).toMatchObject({
      key: "notes/not-evidence.txt",
      detail: "its name is not a SHA-256 content hash",
    });
    expect(audited[0]!.actor.subject).toBe("admin-token");
    expect(await env.TEST_D1_MARKETS.prepare("SELECT COUNT(*) AS n FROM evidence").first("n")).toBe(0);
    expect(await alert()).toMatchObject({ severity: "critical", kind: "evidence_unvouched" });

    await env.TEST_R2_EVIDENCE.delete("notes/not-evidence.txt");
    expect(await step()).toMatchObject({ checked: 1, unvouched: [], passCompleted: true });
    expect(await index()).toMatchObject({ passesCompleted: 2, unvouchedLastWalk: 0, unvouchedThisWalk: 0 });
    expect(await alert()).toBeUndefined();
  });
});
