import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { parseVerifierKey, verifyExport } from "@paulp/audit-chain";
import type { AuditVerification } from "@paulp/contracts";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { AuditSequencer } from "../src/sequencer";
import { audit, event, sequencer } from "./helpers";

const actor = { method: "system" as const, subject: "test" };

async function verify(mode: "full" | "incremental" = "full"): Promise<AuditVerification> {
  const result = await audit().verify({ mode, actor });
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

function sql<T>(fn: (sql: SqlStorage) => T): Promise<T> {
  return runInDurableObject(sequencer(), async (_obj, state) => fn(state.storage.sql));
}

const body = (seq: number) =>
  sql((s) => s.exec<{ body: string }>("SELECT body FROM entries WHERE seq = ?", seq).one().body);
const setBody = (seq: number, value: string) =>
  sql((s) => s.exec("INSERT OR REPLACE INTO entries (seq, body) VALUES (?, ?)", seq, value));

/** Change one character of `text` at `pos` to a different printable ASCII character. */
function flip(text: string, pos: number, delta: number): string {
  const i = pos % text.length;
  const c = text.charCodeAt(i);
  const next = 32 + ((c - 32 + 1 + (delta % 94)) % 95);
  return text.slice(0, i) + String.fromCharCode(next === c ? (c === 33 ? 34 : 33) : next) + text.slice(i + 1);
}

/** Re-run the migrations' CREATE … IF NOT EXISTS statements (recreates triggers a test dropped to play the attacker). */
async function restoreTriggers() {
  for (const m of env.TEST_MIGRATIONS)
    for (const q of m.queries) if (/^\s*CREATE /i.test(q)) await env.D1_ANCHOR.prepare(q).run();
}

beforeAll(async () => {
  // Chain: 40 entries anchored (anchor 1), 20 more anchored (anchor 2), in batches of the mirror.
  for (let i = 0; i < 4; i++)
    await audit().appendMany(Array.from({ length: 10 }, (_, k) => event(i * 10 + k)));
  expect(await audit().anchorNow(actor)).toMatchObject({ ok: true, value: { anchorNo: 1, toSeq: 40 } });
  await audit().appendMany(Array.from({ length: 20 }, (_, k) => event(40 + k)));
  expect(await audit().anchorNow(actor)).toMatchObject({ ok: true, value: { anchorNo: 2, toSeq: 60 } });
});

describe("verification of the stored chain", () => {
  it("passes full and incremental on an untouched chain", async () => {
    expect(await verify("full")).toMatchObject({
      ok: true,
      checkedEntries: 60,
      checkedAnchors: 2,
      toSeq: 60,
    });
    // Incremental starts after the last verified anchor: nothing new to walk.
    expect(await verify("incremental")).toMatchObject({ ok: true, fromSeq: 61, checkedEntries: 0 });
    const status = await audit().status();
    expect(status).toMatchObject({
      ok: true,
      value: { integrity: "ok", headSeq: 60, unanchoredEntries: 0, r2MirrorLag: 0 },
    });
  });

  it("names the seq of any single-character change to an entry in Durable Object storage", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 60 }), fc.nat(), fc.nat(), async (seq, pos, delta) => {
        const original = await body(seq);
        await setBody(seq, flip(original, pos, delta));
        try {
          const v = await verify("full");
          expect(v.ok).toBe(false);
          expect(v.brokenSeq).toBe(seq);
        } finally {
          await setBody(seq, original);
        }
      }),
      { numRuns: 15 },
    );
    expect((await verify("full")).ok).toBe(true);
  });

  it("names the seq of any single-byte change to an R2 copy", async () => {
    const batches = await sql((s) =>
      s
        .exec<{ key: string; from_seq: number }>("SELECT key, from_seq FROM mirror_batches ORDER BY from_seq")
        .toArray(),
    );
    expect(batches.length).toBeGreaterThan(1);
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), async (which, pos, delta) => {
        const batch = batches[which % batches.length]!;
        const original = new Uint8Array(await (await env.R2_AUDIT.get(batch.key))!.arrayBuffer());
        const at = pos % original.length;
        const tampered = Uint8Array.from(original);
        tampered[at] = (tampered[at]! + delta) % 256;
        const expectedSeq = batch.from_seq + original.subarray(0, at).filter((b) => b === 0x0a).length;
        await env.R2_AUDIT.put(batch.key, tampered);
        try {
          const v = await verify("full");
          expect(v.ok).toBe(false);
          expect(v.brokenSeq).toBe(expectedSeq);
          expect(v.reason).toMatch(/R2 copy/);
        } finally {
          await env.R2_AUDIT.put(batch.key, original);
        }
      }),
      { numRuns: 15 },
    );
  });

  it("detects a missing R2 copy", async () => {
    const key = await sql(
      (s) => s.exec<{ key: string }>("SELECT key FROM mirror_batches ORDER BY from_seq LIMIT 1").one().key,
    );
    const original = await (await env.R2_AUDIT.get(key))!.arrayBuffer();
    await env.R2_AUDIT.delete(key);
    try {
      expect(await verify("full")).toMatchObject({
        ok: false,
        brokenSeq: 1,
        reason: expect.stringMatching(/missing/),
      });
    } finally {
      await env.R2_AUDIT.put(key, original);
    }
  });

  it("detects a deleted entry and two swapped entries, naming the first seq", async () => {
    const e17 = await body(17);
    await sql((s) => s.exec("DELETE FROM entries WHERE seq = 17"));
    try {
      expect(await verify("full")).toMatchObject({
        ok: false,
        brokenSeq: 17,
        reason: expect.stringMatching(/missing/),
      });
    } finally {
      await setBody(17, e17);
    }
    const [a, b] = [await body(23), await body(31)];
    await setBody(23, b);
    await setBody(31, a);
    try {
      expect(await verify("full")).toMatchObject({ ok: false, brokenSeq: 23 });
    } finally {
      await setBody(23, a);
      await setBody(31, b);
    }
    expect((await verify("full")).ok).toBe(true);
  });

  it("detects a tail truncated below the last anchor", async () => {
    const tail = await sql((s) =>
      s.exec<{ seq: number; body: string }>("SELECT seq, body FROM entries WHERE seq > 52").toArray(),
    );
    await sql((s) => s.exec("DELETE FROM entries WHERE seq > 52"));
    try {
      expect(await verify("full")).toMatchObject({
        ok: false,
        brokenSeq: 53,
        brokenAnchor: 2,
        reason: expect.stringMatching(/truncated or rolled back/),
      });
    } finally {
      for (const r of tail) await setBody(r.seq, r.body);
    }
    expect((await verify("full")).ok).toBe(true);
  });

  it("detects an edited anchor row, also in incremental mode", async () => {
    await expect(
      env.D1_ANCHOR.prepare("UPDATE anchors SET to_seq = 39 WHERE anchor_no = 1").run(),
    ).rejects.toThrow(/append-only/);
    // An attacker with D1 access can drop the guard; verification must still see the edit.
    await env.D1_ANCHOR.prepare("DROP TRIGGER anchors_no_update").run();
    const { anchored_at } = (await env.D1_ANCHOR.prepare(
      "SELECT anchored_at FROM anchors WHERE anchor_no = 2",
    ).first<{ anchored_at: string }>())!;
    await env.D1_ANCHOR.prepare(
      "UPDATE anchors SET anchored_at = '2020-01-01T00:00:00.000Z' WHERE anchor_no = 2",
    ).run();
    try {
      expect(await verify("full")).toMatchObject({
        ok: false,
        brokenAnchor: 2,
        brokenSeq: 60,
        reason: expect.stringMatching(/edited/),
      });
      expect(await verify("incremental")).toMatchObject({ ok: false, brokenAnchor: 2 });
      expect(await audit().status()).toMatchObject({ ok: true, value: { integrity: "broken" } });
    } finally {
      await env.D1_ANCHOR.prepare("UPDATE anchors SET anchored_at = ? WHERE anchor_no = 2")
        .bind(anchored_at)
        .run();
      await restoreTriggers();
    }
    // Broken stays broken until a full verification passes again: an incremental run that walked nothing
    // broken still answers not ok, naming the earlier break (the audit watch halts trading on it).
    const still = await verify("incremental");
    expect(still).toMatchObject({ ok: false, brokenAnchor: 2, brokenSeq: 60 });
    expect(still.reason).toMatch(
      /integrity is broken since an earlier verification: .*edited.*only a full verification/,
    );
    expect(await audit().status()).toMatchObject({ ok: true, value: { integrity: "broken" } });
    expect((await verify("full")).ok).toBe(true);
    expect(await audit().status()).toMatchObject({ ok: true, value: { integrity: "ok" } });
  });

  it("detects a tail truncated below the last verified anchor in incremental mode, and in the export", async () => {
    expect((await verify("full")).ok).toBe(true); // anchor 2 (toSeq 60) is now the verified one
    const tail = await sql((s) =>
      s.exec<{ seq: number; body: string }>("SELECT seq, body FROM entries WHERE seq > 55").toArray(),
    );
    await sql((s) => s.exec("DELETE FROM entries WHERE seq > 55"));
    try {
      const inc = await verify("incremental");
      expect(inc).toMatchObject({ ok: false, brokenSeq: 56, brokenAnchor: 2 });
      expect(inc.reason).toMatch(/truncated or rolled back: head 55 is below anchor 2 toSeq 60/);
      // The export carries every anchor, so the offline verifier sees the truncation too.
      const report = verifyExport(await new Response(await audit().exportNdjson()).text());
      expect(report.ok).toBe(false);
      expect(report.broken?.reason).toMatch(/truncated|rolled back|below|missing entries/);
    } finally {
      for (const r of tail) await setBody(r.seq, r.body);
    }
    expect((await verify("full")).ok).toBe(true);
    expect((await verify("incremental")).ok).toBe(true);
  });

  it("refuses a forked or backwards anchor in D1, and detects one written past the guard", async () => {
    const a1 = (await env.D1_ANCHOR.prepare("SELECT * FROM anchors WHERE anchor_no = 1").first<
      Record<string, string | number>
    >())!;
    const insert = (no: number, toSeq: number, prev: string) =>
      env.D1_ANCHOR.prepare(
        "INSERT INTO anchors (anchor_no, to_seq, head_hash, prev_anchor_hash, anchored_at, r2_manifest_hash, anchor_hash, checkpoint) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      )
        .bind(
          no,
          toSeq,
          a1.head_hash,
          prev,
          "2026-01-01T00:00:00.000Z",
          a1.r2_manifest_hash,
          `${no}`.padStart(64, "f"),
          // Shaped like a checkpoint, so only the chain triggers (not the signature trigger) are exercised.
          `x\n${toSeq}\nAAAA\n\n— x AAAA\n`,
        )
        .run();
    await expect(insert(3, 60, a1.anchor_hash as string)).rejects.toThrow(/fork/);
    const a2 = (await env.D1_ANCHOR.prepare("SELECT anchor_hash FROM anchors WHERE anchor_no = 2").first<{
      anchor_hash: string;
    }>())!;
    await expect(insert(3, 10, a2.anchor_hash)).rejects.toThrow(/backwards/);
    await expect(insert(5, 60, a2.anchor_hash)).rejects.toThrow(/next anchor number/);
    await env.D1_ANCHOR.prepare("DROP TRIGGER anchors_insert_chain").run();
    await env.D1_ANCHOR.prepare("DROP TRIGGER anchors_no_delete").run();
    await insert(3, 40, a1.anchor_hash as string);
    try {
      expect(await verify("full")).toMatchObject({
        ok: false,
        brokenAnchor: 3,
        reason: expect.stringMatching(/fork|edited/),
      });
    } finally {
      await env.D1_ANCHOR.prepare("DELETE FROM anchors WHERE anchor_no = 3").run();
      await restoreTriggers();
    }
    expect((await verify("full")).ok).toBe(true);
  });
});

describe("export", () => {
  it("exports entries, batches and anchors that the offline verifier accepts; one changed byte fails it", async () => {
    const text = await new Response(await audit().exportNdjson()).text();
    const report = verifyExport(text, { verifiers: [parseVerifierKey(env.TEST_AUDIT_VERIFIER_KEY)] });
    expect(report).toMatchObject({ ok: true, entries: 60, anchors: 2, signaturesChecked: true });
    const lines = text.split("\n");
    const line = lines[12]!; // entry 12
    lines[12] = flip(line, line.indexOf('"payload"') + 12, 3);
    expect(verifyExport(lines.join("\n")).broken?.seq).toBe(12);
  });
});

// Last: it appends entries past the anchored 60 that the tests above count on.
describe("verification during an outage", () => {
  it("fails the call on an anchor-store or R2 outage in either mode, leaving the integrity state alone", async () => {
    const before = await audit().status();
    const outages = {
      D1_ANCHOR: {
        prepare() {
          throw new Error("D1 is down");
        },
      },
      R2_AUDIT: {
        get() {
          return Promise.reject(new Error("R2 is down"));
        },
      },
    };
    for (const [binding, broken] of Object.entries(outages))
      for (const mode of ["full", "incremental"] as const) {
        // Appended but not anchored, so an incremental run also has rows (and their R2 copies) to read.
        await audit().appendMany([event(1), event(2)]);
        const result = await runInDurableObject(sequencer(), async (instance) => {
          const obj = instance as AuditSequencer;
          const bindings = (obj as unknown as { env: Record<string, unknown> }).env;
          const real = bindings[binding];
          await obj.flushMirror();
          bindings[binding] = broken;
          try {
            return await obj.verify(mode, Date.now());
          } finally {
            bindings[binding] = real;
          }
        });
        expect(result, `${binding} ${mode}`).toMatchObject({
          ok: false,
          error: { code: "service_unavailable", message: expect.stringContaining(`${binding} unavailable`) },
        });
      }
    const after = await audit().status();
    expect(after.ok && after.value.integrity).toBe("ok");
    expect(after.ok && after.value.lastVerification).toEqual(before.ok && before.value.lastVerification);
    expect(await verify("full")).toMatchObject({ ok: true });
  });

  it("names the first entry lost from a mirrored batch not yet anchored, and a row stored as bytes", async () => {
    await audit().appendMany([event(1), event(2), event(3), event(4)]);
    await runInDurableObject(sequencer(), (instance) => (instance as AuditSequencer).flushMirror());
    const status = await audit().status();
    if (!status.ok) throw new Error(status.error.message);
    const head = status.value.headSeq;
    expect(status.value.r2MirrorLag).toBe(0);
    const last = await body(head);
    const beforeLast = await body(head - 1);
    await sql((s) => s.exec("DELETE FROM entries WHERE seq >= ?", head - 1));
    try {
      for (const mode of ["full", "incremental"] as const)
        expect(await verify(mode), mode).toMatchObject({
          ok: false,
          brokenSeq: head - 1,
          reason: expect.stringMatching(new RegExp(`entry ${head - 1} of R2 copy .* is not in the chain`)),
        });
    } finally {
      await setBody(head - 1, beforeLast);
      await setBody(head, last);
    }
    expect(await verify("full")).toMatchObject({ ok: true });
    // Same bytes, another storage class: a break at that entry, not an outage.
    await sql((s) => s.exec("UPDATE entries SET body = CAST(body AS BLOB) WHERE seq = ?", head - 2));
    try {
      expect(await verify("full")).toMatchObject({
        ok: false,
        brokenSeq: head - 2,
        reason: `entry ${head - 2} is not stored as text`,
      });
      expect(await audit().status()).toMatchObject({ ok: true, value: { integrity: "broken" } });
    } finally {
      await sql((s) => s.exec("UPDATE entries SET body = CAST(body AS TEXT) WHERE seq = ?", head - 2));
    }
    expect(await verify("full")).toMatchObject({ ok: true });
  });
});
