import { env } from "cloudflare:workers";
import { buildAnchor, parseSignerKey, signCheckpoint } from "@paulp/audit-chain";
import type { AuditAnchor } from "@paulp/contracts";
import { describe, expect, it } from "vitest";
import { insertAnchor } from "../src/anchors";
import { audit, event } from "./helpers";

// Its own file: the chain it breaks stays broken (storage is per test file).
const actor = { method: "system" as const, subject: "test" };
const anchorCount = async () =>
  (await env.D1_ANCHOR.prepare("SELECT COUNT(*) AS n FROM anchors").first<{ n: number }>())!.n;

describe("an anchor in D1 that the running chain does not contain", () => {
  it("is found before the next anchor: nothing is anchored on it and appends stop", async () => {
    await audit().appendMany(Array.from({ length: 5 }, (_, i) => event(i)));
    const first = await audit().anchorNow(actor);
    if (!first.ok || !first.value) throw new Error("no anchor");
    // A validly linked and signed anchor for another head (another writer, a split brain): D1 accepts it.
    const signer = parseSignerKey(env.AUDIT_SIGNING_KEY);
    const foreign = buildAnchor(
      first.value as AuditAnchor,
      { seq: 5, hash: "ab".repeat(32) },
      new Date().toISOString(),
      first.value.r2ManifestHash,
    );
    // Through the worker's own insert: D1's triggers accept it (it links to the latest and is signed).
    expect(
      await insertAnchor(env.D1_ANCHOR, { ...foreign, checkpoint: signCheckpoint(foreign, signer) }, null),
    ).toEqual({
      ok: true,
      value: undefined,
    });
    await audit().append(event(6)); // proved at start already: this one still goes in
    expect(await audit().anchorNow(actor)).toMatchObject({
      ok: false,
      error: {
        code: "integrity_broken",
        message: expect.stringMatching(/entry 5 does not hash to anchor 2/),
      },
    });
    expect(await anchorCount()).toBe(2);
    expect(await audit().append(event(7))).toMatchObject({ ok: false, error: { code: "integrity_broken" } });
    expect(await audit().status()).toMatchObject({ ok: true, value: { integrity: "broken" } });
  });
});
