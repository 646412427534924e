import { createScheduledController } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { audit, breakerStatus, entriesOf, verifyOptions, watchAudit } from "./worker-helpers";

describe("audit integrity watch", () => {
  it("leaves the breaker alone while the chain verifies, asking for an incremental verification", async () => {
    const r = await watchAudit();
    expect(r).toEqual({
      ok: true,
      value: { verdict: "intact", checkedEntries: 0, anchorOverdue: false, receiptsChecked: 0 },
    });
    expect((await breakerStatus()).state).toBe("NORMAL");
    const calls = (await verifyOptions()) as { mode: string; actor: { method: string } }[];
    expect(calls.at(-1)).toMatchObject({ mode: "incremental", actor: { method: "system" } });
  });

  it("halts trading when the chain is broken, naming the seq, and audits the transition", async () => {
    await audit()._set({
      verification: {
        ok: true,
        value: {
          mode: "incremental",
          ok: false,
          fromSeq: 1,
          toSeq: 40,
          checkedEntries: 16,
          checkedAnchors: 0,
          brokenSeq: 17,
          reason: "entry 17 hash does not match its contents",
          verifiedAt: new Date().toISOString(),
        },
      },
    });
    const r = await watchAudit();
    expect(r.ok && r.value).toMatchObject({ verdict: "broken", brokenSeq: 17 });
    const breaker = await breakerStatus();
    expect(breaker.state).toBe("HALT");
    expect(breaker.reason).toContain("seq 17");
    expect((await entriesOf("risk.breaker_transition")).length).toBeGreaterThan(0);
  });

  it("counts an audit that cannot answer as an audit failure, never as intact", async () => {
    await audit()._set({ verification: "throw" });
    const r = await watchAudit();
    expect(r.ok && r.value.verdict).toBe("unavailable");
    expect((await breakerStatus()).consecutiveFailures.audit_failure).toBeGreaterThan(0);
  });

  it("runs from the Cron Trigger", async () => {
    const before = ((await verifyOptions()) as unknown[]).length;
    const { exports } = await import("cloudflare:workers");
    await (
      exports as unknown as { default: { scheduled(c: ScheduledController): Promise<void> } }
    ).default.scheduled(createScheduledController({ cron: "*/5 * * * *", scheduledTime: Date.now() }));
    expect(((await verifyOptions()) as unknown[]).length).toBe(before + 1);
  });
});
