import { untilSettled } from "@paulp/testing/until";
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
    // Risk anchors in its waitUntil, after answering: nothing crosses the binding to await.
    const status = await untilSettled(
      async () => (await (await adminFetch("/admin/audit/status")).json()) as Status,
      (s) => (s.lastAnchor?.toSeq ?? 0) > before.headSeq,
    );
    // The transition's entry is after the old head; the new anchor reaches past it.
    expect(status.lastAnchor?.toSeq ?? 0).toBeGreaterThan(before.headSeq);
  });
});
