import { exports } from "cloudflare:workers";
import type { AlertsView, MonitorRpc, Principal, Result } from "@paulp/contracts";
import { describe, expect, it } from "vitest";

// The gateway pushes its admin audit outbox's figures (no worker the monitor reads binds the gateway); the next
// evaluation judges the last report. Through the monitor's real entrypoint and desk.

const monitor = () => (exports as unknown as { default: MonitorRpc }).default;
const cron: Principal = { method: "system", subject: "cron:monitor" };

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

async function outboxAlert() {
  value(await monitor().evaluate(cron));
  const view: AlertsView = value(await monitor().alerts({ limit: 50 }));
  return view.active.find((a) => a.key === "audit_outbox_backlog");
}

describe("audit_outbox_backlog", () => {
  it("is raised by a report of records waiting past the limit, critical on drops, cleared by an empty report", async () => {
    expect(await outboxAlert()).toBeUndefined();
    value(
      await monitor().reportAdminAuditOutbox({
        depth: 2,
        oldestAgeSeconds: 600,
        dropped: 0,
        lastError: "audit_unavailable: down",
      }),
    );
    expect(await outboxAlert()).toMatchObject({
      severity: "warning",
      labels: { source: "gateway", depth: "2" },
    });
    value(
      await monitor().reportAdminAuditOutbox({
        depth: 10_000,
        oldestAgeSeconds: 900,
        dropped: 3,
        lastError: null,
      }),
    );
    expect((await outboxAlert())?.severity).toBe("critical");
    value(
      await monitor().reportAdminAuditOutbox({
        depth: 0,
        oldestAgeSeconds: null,
        dropped: 0,
        lastError: null,
      }),
    );
    expect(await outboxAlert()).toBeUndefined();
  });

  it("refuses a malformed report", async () => {
    for (const bad of [
      { depth: -1, oldestAgeSeconds: null, dropped: 0, lastError: null },
      { depth: 1, oldestAgeSeconds: 1.5, dropped: 0, lastError: null },
      { depth: 1, oldestAgeSeconds: 1, dropped: 0, lastError: null, extra: true },
      "nothing",
    ]) {
      const r = await monitor().reportAdminAuditOutbox(bad as never);
      expect(r).toMatchObject({ ok: false, error: { code: "validation_failed" } });
    }
  });
});
