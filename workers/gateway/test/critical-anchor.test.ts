import { describe, expect, it } from "vitest";
import { adminFetch } from "./helpers";

type Status = { headSeq: number; lastAnchor: { toSeq: number } | null };

describe("critical events are anchored at once", () => {
  it("the specification's halt is covered by a D1 anchor without waiting for the hourly cron", async () => {
    const before = (await (await adminFetch("/admin/audit/status")).json()) as Status;
    const halt = await adminFetch("/admin/circuit-breaker/transition", {
      method: "POST",
      body: JSON.stringify({ targetState: "HALT", reason: "Emergency halt" }),
    });
    expect(halt.status).toBe(200);
    let status = before;
    for (let i = 0; i < 100; i++) {
      status = (await (await adminFetch("/admin/audit/status")).json()) as Status;
      if ((status.lastAnchor?.toSeq ?? 0) > before.headSeq) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // The transition's entry is after the old head; the new anchor reaches past it.
    expect(status.lastAnchor?.toSeq ?? 0).toBeGreaterThan(before.headSeq);
  });
});
