import {
  createExecutionContext,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { type AuditAppendInput, type AuditAppendOptions, ErrorCode, err } from "@paulp/contracts";
import { rpc } from "@paulp/kit";
import { beforeEach, describe, expect, it } from "vitest";
import { OUTBOX_MAX_RECORDS, OUTBOX_STALE_SECONDS } from "../src/audit-outbox";
import { OUTBOX_NAME } from "../src/audit-outbox-object";
import type { Env } from "../src/env";
import { buildRouter } from "../src/router";

// The admin request records go through the gateway's outbox (a Durable Object) to the real audit worker. The
// outbox's AUDIT is wrapped by a switch the test flips: `down` answers audit_unavailable, `lost-answer` writes
// the entry for real and then loses the answer (the ambiguous timeout). Retries are driven with
// runDurableObjectAlarm; every request is settled (its waitUntil delivery awaited) before the test looks.

const audit = { mode: "up" as "up" | "down" | "lost-answer", calls: 0 };

function outbox() {
  return env.ADMIN_AUDIT_OUTBOX.get(env.ADMIN_AUDIT_OUTBOX.idFromName(OUTBOX_NAME));
}

type Appender = {
  append(event: AuditAppendInput, options?: AuditAppendOptions): Promise<unknown>;
};

/** The switches installed (a service binding answers any property, so the mark cannot be on the object). */
const switches = new WeakSet<object>();

/** Wrap the outbox's AUDIT in the switch (once per instance). */
async function switchAudit(): Promise<void> {
  await runInDurableObject(outbox(), (instance) => {
    const shell = instance as unknown as { audit: Appender };
    if (switches.has(shell.audit)) return;
    const real = shell.audit;
    shell.audit = {
      async append(event, options) {
        audit.calls++;
        if (audit.mode === "down") return err(ErrorCode.auditUnavailable, "audit down (test)");
        const answer = await real.append(event, options);
        if (audit.mode === "lost-answer") throw new Error("network connection lost (test)");
        return answer;
      },
    };
    switches.add(shell.audit);
  });
}

/** One admin request through the router, its record's delivery awaited; `id` is its request id. */
async function settled(id: string, path = "/admin/whoami", overrides: Partial<Env> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await buildRouter().fetch(
    new Request(`https://gw.test${path}`, {
      headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, "x-request-id": id },
    }),
    { ...env, ...overrides } as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

/** The chain's admin request records carrying request id `id`, read from the audit worker itself. */
async function recordsOf(id: string): Promise<{ seq: number; payload: { requestId: string } }[]> {
  const ndjson = await new Response(await env.AUDIT.exportNdjson()).text();
  return ndjson
    .split("\n")
    .filter((l) => l.includes('"kind":"entry"') && l.includes(id))
    .map((l) => JSON.parse(l))
    .filter((e) => e.payload?.requestId === id);
}

async function gatewayCheck(): Promise<{
  code: number;
  check: { ok: boolean; detail: string };
  body: Status;
}> {
  const ctx = createExecutionContext();
  const res = await buildRouter().fetch(
    new Request("https://gw.test/admin/status", { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } }),
    env as Env,
    ctx,
  );
  const body = (await res.json()) as Status;
  await waitOnExecutionContext(ctx);
  const check = body.services.gateway.checks.find((c) => c.name === "admin_audit_outbox")!;
  return { code: res.status, check, body };
}
type Status = {
  failing: string[];
  services: { gateway: { checks: { name: string; ok: boolean; detail: string }[] } };
  adminAuditOutbox: { depth: number; oldestAgeSeconds: number | null; dropped: number; failures: number };
};

/** The monitor's audit_outbox_backlog alert after an evaluation (the gateway's outbox reports; the monitor judges). */
async function backlogAlert(): Promise<{ severity: string; detail: string } | undefined> {
  const cron = { method: "system" as const, subject: "cron:monitor" };
  const evaluated = await rpc(env.MONITOR, (m) => m.evaluate(cron), { what: "evaluate" });
  if (!evaluated.ok) throw new Error(evaluated.error.message);
  const view = await rpc(env.MONITOR, (m) => m.alerts({ limit: 50 }), { what: "alerts" });
  if (!view.ok) throw new Error(view.error.message);
  return view.value.active.find((a) => a.key === "audit_outbox_backlog");
}

/** Drain whatever earlier requests left, with the chain up. */
async function drained(): Promise<void> {
  audit.mode = "up";
  await runDurableObjectAlarm(outbox());
  await outbox().deliver();
  expect((await outbox().stats()).depth).toBe(0);
}

const uid = (tag: string) => `${tag}-${crypto.randomUUID().slice(0, 12)}`;

describe("the admin audit outbox", () => {
  beforeEach(async () => {
    await switchAudit();
    await drained();
  });

  it("audit down: the request is still answered and its record kept; audit back + alarm: appended once, outbox empty", async () => {
    audit.mode = "down";
    const id = uid("down");
    const res = await settled(id);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe(id);
    const waiting = await outbox().stats();
    // (Its first retry may have fired and failed too on a slow machine: at least one failure.)
    expect(waiting).toMatchObject({ depth: 1, dropped: 0 });
    expect(waiting.failures).toBeGreaterThanOrEqual(1);
    expect(waiting.nextAttemptAt).not.toBeNull();
    expect(await recordsOf(id)).toEqual([]);
    // The outbox told the monitor: its alert is raised (at once here; production: past 5 minutes).
    expect(await backlogAlert()).toMatchObject({
      severity: "warning",
      detail: expect.stringContaining("1 admin request record(s) waiting for the audit chain"),
    });
    // Backing off: a delivery asked for before the retry time (put ten minutes away) does not call the chain. The
    // outbox's own alarm is moved there too, and a run already under way is waited for: on a loaded machine the
    // alarm set for the first retry may fire by itself, call the chain and write its own retry time over ours
    // (seen once under two test runs at once). Set again until ours is the one that stands.
    const retryAt = Date.now() + 600_000;
    const retryTime = () =>
      runInDurableObject(outbox(), (_instance, state) => {
        const row = state.storage.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'state'").one();
        return JSON.parse(row.v).nextAttemptAt as number;
      });
    do {
      await runInDurableObject(outbox(), async (_instance, state) => {
        const row = state.storage.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'state'").one();
        const s = { ...JSON.parse(row.v), nextAttemptAt: retryAt };
        state.storage.sql.exec("UPDATE meta SET v = ? WHERE k = 'state'", JSON.stringify(s));
        await state.storage.setAlarm(retryAt);
      });
      // Queued behind any run under way (runs are serialised), so that one has ended when this answers.
      await outbox().deliver();
    } while ((await retryTime()) !== retryAt);
    const calls = audit.calls;
    expect(await outbox().deliver()).toBeNull();
    expect(audit.calls).toBe(calls);

    audit.mode = "up";
    expect(await runDurableObjectAlarm(outbox())).toBe(true);
    expect(await recordsOf(id)).toHaveLength(1);
    expect(await outbox().stats()).toMatchObject({
      depth: 0,
      failures: 0,
      lastError: null,
      oldestAgeSeconds: null,
    });
    // Nothing left: the monitor was told (its alert clears). A backstop alarm may stay; run, it finds nothing,
    // appends nothing and does not set itself again.
    await runDurableObjectAlarm(outbox());
    expect(audit.calls).toBe(calls + 1);
    expect(await runDurableObjectAlarm(outbox())).toBe(false);
    expect(await backlogAlert()).toBeUndefined();
  });

  it("an append written but answered with a lost connection is retried with the same key: one entry", async () => {
    audit.mode = "lost-answer";
    const id = uid("lost");
    expect((await settled(id)).status).toBe(200);
    // The chain has it, but the outbox could not know: the record is kept.
    expect(await recordsOf(id)).toHaveLength(1);
    expect((await outbox().stats()).depth).toBe(1);
    audit.mode = "up";
    await runDurableObjectAlarm(outbox());
    expect((await outbox().stats()).depth).toBe(0);
    expect(await recordsOf(id)).toHaveLength(1);
  });

  it("keeps the order of the records across an outage", async () => {
    audit.mode = "down";
    const ids = [uid("first"), uid("second"), uid("third")];
    for (const id of ids) expect((await settled(id)).status).toBe(200);
    expect((await outbox().stats()).depth).toBe(3);
    audit.mode = "up";
    await runDurableObjectAlarm(outbox());
    const seqs = await Promise.all(ids.map(async (id) => (await recordsOf(id)).map((e) => e.seq)));
    expect(seqs.every((s) => s.length === 1)).toBe(true);
    const flat = seqs.flat();
    expect(flat).toEqual([...flat].sort((a, b) => a - b));
  });

  it("health: informative while records wait briefly, failing past the age limit, ok again once delivered", async () => {
    audit.mode = "down";
    await settled(uid("health"));
    // The status request is itself an admin request: its record waits too.
    const fresh = await gatewayCheck();
    expect(fresh.check.ok).toBe(true);
    expect(fresh.check.detail).toMatch(
      /^1 record\(s\) waiting, the oldest \d+ s \(last append: audit_unavailable/,
    );
    expect(fresh.body.adminAuditOutbox).toMatchObject({ depth: 1, dropped: 0 });
    expect(fresh.body.failing).not.toContain("gateway");

    // The oldest record was kept past the limit (its time moved back rather than waiting minutes).
    await runInDurableObject(outbox(), (_instance, state) => {
      state.storage.sql.exec(
        "UPDATE records SET enqueued_at = ? WHERE id = (SELECT MIN(id) FROM records)",
        Date.now() - (OUTBOX_STALE_SECONDS + 60) * 1000,
      );
    });
    const stale = await gatewayCheck();
    expect(stale.code).toBe(503);
    expect(stale.check.ok).toBe(false);
    expect(stale.check.detail).toMatch(/the audit chain is not taking them/);
    expect(stale.body.failing).toContain("gateway");
    expect(stale.body.adminAuditOutbox.oldestAgeSeconds).toBeGreaterThan(OUTBOX_STALE_SECONDS);

    audit.mode = "up";
    // The alarm's run delivers; on a loaded machine a delivery the last status request started (while the chain was
    // down) may still hold the outbox's run when this alarm fires, and end by setting the next attempt: the alarm is
    // driven again until a run has delivered (each pass is an alarm run, never a sleep).
    await expect
      .poll(async () => {
        await runDurableObjectAlarm(outbox());
        return (await gatewayCheck()).check;
      })
      .toMatchObject({ ok: true, detail: expect.stringMatching(/^empty|1 record/) });
  });

  it("is bounded: past the limit a record is dropped and counted, health says so, and the gap is recorded in the chain", async () => {
    audit.mode = "down";
    // Fill the outbox to its limit directly (10,000 requests would take minutes).
    await runInDurableObject(outbox(), (_instance, state) => {
      state.storage.sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO records (key, event, enqueued_at) SELECT 'filler-' || i, '{}', ? FROM n`,
        OUTBOX_MAX_RECORDS,
        Date.now(),
      );
    });
    const id = uid("over");
    expect((await settled(id)).status).toBe(200);
    const full = await outbox().stats();
    expect(full).toMatchObject({ depth: OUTBOX_MAX_RECORDS, dropped: 1 });
    const health = await gatewayCheck();
    expect(health.code).toBe(503);
    expect(health.check.ok).toBe(false);
    expect(health.check.detail).toMatch(/DROPPED/);
    expect((await backlogAlert())?.severity).toBe("critical");

    // The fillers go (they are not real records); the chain comes back; the drop is reported.
    await runInDurableObject(outbox(), (_instance, state) => {
      state.storage.sql.exec("DELETE FROM records WHERE key LIKE 'filler-%'");
    });
    audit.mode = "up";
    await runDurableObjectAlarm(outbox());
    const stats = await outbox().stats();
    expect(stats).toMatchObject({ depth: 0, dropped: 0 });
    const ndjson = await new Response(await env.AUDIT.exportNdjson()).text();
    const reports = ndjson
      .split("\n")
      .filter((l) => l.includes('"type":"gateway.admin_audit_dropped"'))
      .map((l) => JSON.parse(l));
    // The status request made while full was dropped too.
    expect(reports.at(-1)).toMatchObject({
      actor: { subject: "admin-audit-outbox" },
      payload: { dropped: 2 },
    });
    expect(await recordsOf(id)).toEqual([]);
    expect((await gatewayCheck()).check.ok).toBe(true);
    expect(await backlogAlert()).toBeUndefined();
  });

  it("if the outbox itself cannot be reached, the record is appended directly", async () => {
    const unreachable = {
      idFromName: () => ({}),
      get: () => ({
        enqueue: async () => {
          throw new Error("outbox unavailable (test)");
        },
      }),
    } as unknown as Env["ADMIN_AUDIT_OUTBOX"];
    const id = uid("direct");
    expect((await settled(id, "/admin/whoami", { ADMIN_AUDIT_OUTBOX: unreachable })).status).toBe(200);
    expect(await recordsOf(id)).toHaveLength(1);
    expect((await outbox().stats()).depth).toBe(0);
  });
});
