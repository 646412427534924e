import { env } from "cloudflare:workers";
import type { AuditAnchor, AuditStatus, AuditWatchOutcome, BreakerStatus } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { insertForeignAnchor } from "./forged-anchor";
import { adminFetch } from "./helpers";

// Its own file: the chain it forks stays broken for the rest of the file (each test file has its own mesh).
describe("a sequencer whose chain does not contain the latest D1 anchor", () => {
  it("anchors nothing on it, refuses appends, and risk's audit watch halts the breaker", async () => {
    for (let i = 0; i < 3; i++)
      await env.AUDIT.append({
        type: "test.fork",
        service: "risk",
        actor: { method: "system", subject: "t" },
        payload: { i },
      });
    const first = (await (await adminFetch("/admin/audit/anchor", { method: "POST" })).json()) as AuditAnchor;
    // D1 gets an anchor, linked and signed, for a head this sequencer never had (as if the sequencer had been
    // restored to a state older than what D1 anchored).
    await insertForeignAnchor(first, { seq: first.toSeq, hash: "ab".repeat(32) }, first.r2ManifestHash);
    const refused = await adminFetch("/admin/audit/anchor", { method: "POST" });
    expect(refused.ok).toBe(false);
    expect(await refused.json()).toMatchObject({
      error: {
        code: "integrity_broken",
        message: expect.stringMatching(/does not contain the latest anchor/),
      },
    });
    expect(
      await env.AUDIT.append({
        type: "test.fork",
        service: "risk",
        actor: { method: "system", subject: "t" },
        payload: { i: 4 },
      }),
    ).toMatchObject({ ok: false, error: { code: "integrity_broken" } });
    const status = (await (await adminFetch("/admin/audit/status")).json()) as AuditStatus;
    expect(status.integrity).toBe("broken");
    expect(status.alerts[0]).toMatchObject({ code: "integrity_broken", severity: "critical" });
    const watch = (await (
      await adminFetch("/admin/risk/audit-watch", { method: "POST" })
    ).json()) as AuditWatchOutcome;
    expect(watch).toMatchObject({ verdict: "broken" });
    const breaker = (await (await adminFetch("/admin/circuit-breaker")).json()) as BreakerStatus;
    expect(breaker.state).toBe("HALT");
  });
});
