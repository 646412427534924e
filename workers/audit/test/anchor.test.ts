import { runDurableObjectAlarm } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { batchKey } from "@paulp/audit-chain";
import { describe, expect, it } from "vitest";
import { audit, event, sequencer } from "./helpers";

const actor = { method: "access" as const, subject: "u1", email: "ops@example.com" };
const scheduler = () =>
  (
    exports as unknown as {
      default: { scheduled(o: { scheduledTime: Date; cron: string }): Promise<unknown> };
    }
  ).default;
const anchorCount = async () =>
  (await env.D1_ANCHOR.prepare("SELECT COUNT(*) AS n FROM anchors").first<{ n: number }>())!.n;

describe("anchors", () => {
  it("anchors on demand once, and again only after new entries", async () => {
    expect(await audit().anchorNow(actor)).toEqual({ ok: true, value: null }); // empty chain: nothing to anchor
    await audit().appendMany([event(1), event(2), event(3)]);
    const first = await audit().anchorNow(actor);
    expect(first).toMatchObject({ ok: true, value: { anchorNo: 1, toSeq: 3 } });
    expect(await audit().anchorNow(actor)).toEqual({ ok: true, value: null });
    await audit().append(event(4));
    const second = await audit().anchorNow(actor);
    expect(second).toMatchObject({ ok: true, value: { anchorNo: 2, toSeq: 4 } });
    if (first.ok && second.ok) expect(second.value!.prevAnchorHash).toBe(first.value!.anchorHash);
    expect(await audit().anchorNow({ method: "nobody", subject: "" } as never)).toMatchObject({
      ok: false,
      error: { code: "validation_failed" },
    });
    expect(await anchorCount()).toBe(2);
  });

  it("makes one anchor when the hourly cron fires twice, even with appends in between", async () => {
    const before = await anchorCount();
    await audit().append(event(5));
    const hour = Date.UTC(2026, 10, 24, 7, 0, 0);
    await scheduler().scheduled({ scheduledTime: new Date(hour), cron: "0 * * * *" });
    await audit().append(event(6));
    await scheduler().scheduled({ scheduledTime: new Date(hour + 1_500), cron: "0 * * * *" });
    expect(await anchorCount()).toBe(before + 1);
    // The next hour anchors the new entry.
    await scheduler().scheduled({ scheduledTime: new Date(hour + 3_600_000), cron: "0 * * * *" });
    expect(await anchorCount()).toBe(before + 2);
    const status = await audit().status();
    expect(status).toMatchObject({ ok: true, value: { unanchoredEntries: 0, headSeq: 6 } });
  });

  it("tracks R2 mirror lag and retries until it catches up; never overwrites an object", async () => {
    // An alarm still pending from the earlier appends would fire on its own during this test: run it now, so the
    // append below schedules the one this test drives.
    await runDurableObjectAlarm(sequencer());
    const head = (await audit().status()) as { ok: true; value: { headSeq: number } };
    const next = head.value.headSeq + 1;
    // Something else already holds the key the next batch will use: create-only must refuse to overwrite it.
    await env.R2_AUDIT.put(batchKey(next, next), "squatter");
    await audit().append(event(7));
    const flushed = await sequencer().flushMirror();
    expect(flushed.error).toMatch(/already exists with different content/);
    expect(await (await env.R2_AUDIT.get(batchKey(next, next)))!.text()).toBe("squatter");
    const lagging = await audit().status();
    expect(lagging).toMatchObject({
      ok: true,
      value: { r2MirrorLag: 1, r2MirrorError: expect.stringMatching(/exists/) },
    });
    // An anchor now covers only what is mirrored, and says so when nothing more can be anchored.
    expect(await audit().anchorNow(actor)).toMatchObject({
      ok: false,
      error: { code: "service_unavailable" },
    });
    // Once the key is free the alarm's retry catches up. On a loaded machine the real alarm can fire before the
    // test runs it (then none is left to run, and it answers false): the status below is what must hold.
    await env.R2_AUDIT.delete(batchKey(next, next));
    await runDurableObjectAlarm(sequencer());
    const caughtUp = await audit().status();
    expect(caughtUp).toMatchObject({ ok: true, value: { r2MirrorLag: 0, r2MirrorError: null } });
    expect(await audit().verify({ mode: "full", actor })).toMatchObject({ ok: true, value: { ok: true } });
  });

  it("reports health from its real bindings", async () => {
    const report = await audit().health();
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name).sort()).toEqual(["d1_anchor", "r2_audit", "sequencer"]);
  });
});
