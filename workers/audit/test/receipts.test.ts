import type { AuditReceipt } from "@paulp/contracts";
import { beforeAll, describe, expect, it } from "vitest";
import { audit, event } from "./helpers";

const actor = { method: "system" as const, subject: "cron:risk-audit-watch" };
let receipts: AuditReceipt[] = [];

beforeAll(async () => {
  const r = await audit().appendMany(Array.from({ length: 5 }, (_, i) => event(i)));
  if (!r.ok) throw new Error(r.error.message);
  receipts = r.value;
});

describe("checkReceipts", () => {
  it("answers that the chain holds every receipt its appends gave", async () => {
    expect(await audit().checkReceipts(receipts, actor)).toMatchObject({
      ok: true,
      value: { ok: true, headSeq: 5, checked: 5, held: 5, broken: [] },
    });
    expect(await audit().status()).toMatchObject({ ok: true, value: { integrity: "unknown" } });
  });

  it("refuses malformed receipts without recording anything", async () => {
    for (const bad of [
      [],
      [{ seq: 0, hash: "a".repeat(64) }],
      [{ seq: 1, hash: "A".repeat(64) }],
      [{ seq: 1 }],
    ])
      expect(await audit().checkReceipts(bad as never, actor)).toMatchObject({
        ok: false,
        error: { code: "validation_failed" },
      });
    const many = Array.from({ length: 501 }, () => receipts[0]!);
    expect(await audit().checkReceipts(many, actor)).toMatchObject({
      ok: false,
      error: { code: "validation_failed" },
    });
    expect(await audit().checkReceipts(receipts, { method: "nobody" } as never)).toMatchObject({ ok: false });
  });

  it("a receipt above the head or with another hash is a break: integrity broken until a full verification", async () => {
    const check = await audit().checkReceipts(
      [...receipts, { seq: 9, hash: "c".repeat(64) }, { seq: 3, hash: receipts[1]!.hash }],
      actor,
    );
    expect(check).toMatchObject({
      ok: true,
      value: {
        ok: false,
        checked: 7,
        held: 5,
        broken: [
          { seq: 9, reason: "above_head" },
          { seq: 3, reason: "hash_differs" },
        ],
      },
    });
    expect(await audit().status()).toMatchObject({ ok: true, value: { integrity: "broken" } });
    // The watch's incremental verification answers broken from now on (the breaker halts on it).
    expect(await audit().verify({ mode: "incremental", actor })).toMatchObject({
      ok: true,
      value: { ok: false, brokenSeq: 3, reason: expect.stringMatching(/receipt check: entry 3/) },
    });
    // The chain itself is intact: a full verification that passes clears it.
    expect(await audit().verify({ mode: "full", actor })).toMatchObject({ ok: true, value: { ok: true } });
    expect(await audit().status()).toMatchObject({ ok: true, value: { integrity: "ok" } });
  });
});
