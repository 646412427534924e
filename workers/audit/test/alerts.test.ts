import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { buildEntry, entryLine, GENESIS_POINT } from "@paulp/audit-chain";
import type { AuditStatus } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { type AlertFacts, auditAlerts } from "../src/alerts";
import { audit, event, sequencer } from "./helpers";

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const base: Omit<AuditStatus, "alerts"> = {
  headSeq: 10,
  headHash: "a".repeat(64),
  entryCount: 10,
  lastAnchor: null,
  lastAnchorAgeSeconds: null,
  unanchoredEntries: 0,
  r2MirrorLag: 0,
  r2MirrorError: null,
  lastVerification: null,
  integrity: "ok",
  lastFullVerification: null,
  lastFullVerificationAgeSeconds: 3600,
  oldestUnanchoredAgeSeconds: null,
  anchorVerifierKey: "k",
};
const facts: AlertFacts = {
  nowMs: NOW,
  chainStartedAt: null,
  keyError: null,
  brokenReason: null,
  brokenSince: null,
};
const codes = (s: Partial<AuditStatus>, f: Partial<AlertFacts> = {}) =>
  auditAlerts({ ...base, ...s }, { ...facts, ...f }).map((a) => a.code);

describe("audit alerts", () => {
  it("anchor_overdue once the oldest unanchored entry is past 90 minutes, not before, not with nothing to anchor", () => {
    expect(codes({ unanchoredEntries: 3, oldestUnanchoredAgeSeconds: 89 * 60 })).toEqual([]);
    expect(codes({ unanchoredEntries: 3, oldestUnanchoredAgeSeconds: 90 * 60 + 1 })).toEqual([
      "anchor_overdue",
    ]);
    // A quiet desk: the last anchor is old but there is nothing new to anchor.
    expect(codes({ lastAnchorAgeSeconds: 10 * 3600, oldestUnanchoredAgeSeconds: null })).toEqual([]);
  });

  it("full_verification_overdue past 26 hours, or never on a chain older than that", () => {
    expect(codes({ lastFullVerificationAgeSeconds: 25 * 3600 })).toEqual([]);
    expect(codes({ lastFullVerificationAgeSeconds: 27 * 3600 })).toEqual(["full_verification_overdue"]);
    const young = new Date(NOW - 3600_000).toISOString();
    const old = new Date(NOW - 30 * 3600_000).toISOString();
    expect(codes({ lastFullVerificationAgeSeconds: null }, { chainStartedAt: young })).toEqual([]);
    expect(codes({ lastFullVerificationAgeSeconds: null }, { chainStartedAt: old })).toEqual([
      "full_verification_overdue",
    ]);
  });

  it("integrity_broken is critical and first; a missing key and a failing mirror are raised too", () => {
    const alerts = auditAlerts(
      { ...base, integrity: "broken", r2MirrorError: "R2 down" },
      { ...facts, keyError: "AUDIT_SIGNING_KEY is not set", brokenReason: "entry 4 edited" },
    );
    expect(alerts.map((a) => [a.code, a.severity])).toEqual([
      ["integrity_broken", "critical"],
      ["anchor_signing_unavailable", "warning"],
      ["r2_mirror_failing", "warning"],
    ]);
    expect(alerts[0]!.message).toContain("entry 4 edited");
  });
});

describe("status ages and alerts from the real sequencer", () => {
  it("an entry unanchored for two hours raises anchor_overdue; anchoring clears it", async () => {
    // Entry 1 written two hours ago (as if the hourly anchors had failed since), then the sequencer restarts.
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000).toISOString();
    const entry = buildEntry(GENESIS_POINT, event(1), twoHoursAgo);
    await runInDurableObject(sequencer(), (_o, state) => {
      state.storage.sql.exec("INSERT INTO entries (seq, body) VALUES (1, ?)", entryLine(entry));
    });
    await abortAllDurableObjects();
    await audit().append(event(2));
    const before = await audit().status();
    if (!before.ok) throw new Error(before.error.message);
    expect(before.value.oldestUnanchoredAgeSeconds).toBeGreaterThanOrEqual(7200);
    expect(before.value.alerts.map((a) => a.code)).toContain("anchor_overdue");
    expect(before.value.anchorVerifierKey).toMatch(/^paulp\.dev\/audit\+[0-9a-f]{8}\+/);
    expect(await audit().anchorNow({ method: "system", subject: "test" })).toMatchObject({ ok: true });
    const after = await audit().status();
    if (!after.ok) throw new Error(after.error.message);
    expect(after.value.oldestUnanchoredAgeSeconds).toBeNull();
    expect(after.value.alerts.map((a) => a.code)).not.toContain("anchor_overdue");
  });
});
