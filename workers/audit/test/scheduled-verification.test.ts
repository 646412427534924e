import { runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { FULL_VERIFICATION_CRON } from "../src/schedules";
import { audit, event, sequencer } from "./helpers";

const actor = { method: "system" as const, subject: "test" };
const scheduler = () =>
  (
    exports as unknown as {
      default: { scheduled(o: { scheduledTime: number; cron: string }): Promise<void> };
    }
  ).default;

describe("the daily full verification (Cron Trigger)", () => {
  it("finds an edit below the last verified anchor, which the incremental watch never walks again", async () => {
    await audit().appendMany(Array.from({ length: 20 }, (_, i) => event(i)));
    expect(await audit().anchorNow(actor)).toMatchObject({ ok: true, value: { toSeq: 20 } });
    expect(await audit().verify({ mode: "incremental", actor })).toMatchObject({ value: { ok: true } });
    // Entry 5 edited in storage, below the verified anchor.
    await runInDurableObject(sequencer(), (_o, state) => {
      const { body } = state.storage.sql
        .exec<{ body: string }>("SELECT body FROM entries WHERE seq = 5")
        .one();
      state.storage.sql.exec("UPDATE entries SET body = ? WHERE seq = 5", body.replace('"n":4', '"n":40'));
    });
    await audit().append(event(21));
    expect(await audit().verify({ mode: "incremental", actor })).toMatchObject({ value: { ok: true } });
    let status = await audit().status();
    expect(status).toMatchObject({ ok: true, value: { integrity: "ok", lastFullVerification: null } });
    await scheduler().scheduled({ scheduledTime: Date.now(), cron: FULL_VERIFICATION_CRON });
    status = await audit().status();
    if (!status.ok) throw new Error(status.error.message);
    expect(status.value).toMatchObject({
      integrity: "broken",
      lastFullVerification: { mode: "full", ok: false, brokenSeq: 5 },
      lastFullVerificationAgeSeconds: expect.any(Number),
    });
    expect(status.value.lastFullVerificationAgeSeconds).toBeLessThan(60);
    // From now on the watch's incremental answer is broken too: risk halts.
    expect(await audit().verify({ mode: "incremental", actor })).toMatchObject({
      value: { ok: false, brokenSeq: 5 },
    });
  });

  it("takes every step of a full verification in one call when asked (what the cron and the dev cron run)", async () => {
    const r = await audit().verify({ mode: "full", actor, untilComplete: true });
    expect(r).toMatchObject({ ok: true, value: { mode: "full", ok: false, brokenSeq: 5 } });
  });
});
