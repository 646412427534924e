import { beforeEach, describe, expect, it } from "vitest";
import { runIngestion, runVenue } from "../src/pipeline";
import { blockKalshi, count, resetAll, tenv, testDeps, worker } from "./helpers";

beforeEach(resetAll);

const json = (body: unknown) =>
  new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });

const gamma = (over: Record<string, unknown>) => ({
  id: "1",
  question: "Will X happen?",
  conditionId: `0x${"a".repeat(64)}`,
  outcomes: '["Yes","No"]',
  clobTokenIds: '["111","222"]',
  active: true,
  closed: false,
  ...over,
});

async function pushedMarks(): Promise<{ market: string; price: string; category: string | null }[]> {
  return (await tenv.RISK._calls())
    .filter((c) => c.method === "recordMarks")
    .flatMap((c) => c.marks as { market: string; price: string; category: string | null }[]);
}

describe("marks are prices risk can value a position at", () => {
  it("a Polymarket outcome price above $1 is no price: no mark stored, none pushed", async () => {
    const deps = testDeps({ fetch: async () => json({ markets: [gamma({ outcomePrices: '["7","0"]' })] }) });
    const { report } = await runVenue(deps, "polymarket", { maxPages: 1, pageSize: 100 });
    expect(report.outcome).toBe("ok");
    expect(await count("markets", "mark_price IS NOT NULL")).toBe(0);
    expect(await pushedMarks()).toEqual([]);
    const row = await tenv.D1_MARKETS.prepare("SELECT last_price FROM markets").first<{
      last_price: string | null;
    }>();
    expect(row?.last_price ?? null).toBeNull();
  });

  it("a zero-priced market and an empty category do not spoil the page's marks for risk", async () => {
    const deps = testDeps({
      fetch: async () =>
        json({
          markets: [
            gamma({ bestBid: 0.4, bestAsk: 0.5, category: "" }),
            gamma({ id: "2", conditionId: `0x${"b".repeat(64)}`, lastTradePrice: 0 }),
          ],
        }),
    });
    await runVenue(deps, "polymarket", { maxPages: 1, pageSize: 100 });
    expect(await pushedMarks()).toEqual([
      expect.objectContaining({ market: `0x${"a".repeat(64)}`, price: "0.4500", category: null }),
    ]);
  });

  it("each mark carries the book's best bid and ask of the same observation (risk collars orders around them)", async () => {
    const deps = testDeps({ fetch: async () => json({ markets: [gamma({ bestBid: 0.4, bestAsk: 0.5 })] }) });
    await runVenue(deps, "polymarket", { maxPages: 1, pageSize: 100 });
    expect(await pushedMarks()).toEqual([
      expect.objectContaining({ price: "0.4500", bestBid: "0.4000", bestAsk: "0.5000" }),
    ]);
  });
});

describe("a run that could not audit what it blocked is not ok", () => {
  it("answers partial and does not tell risk that ingestion is healthy", async () => {
    await blockKalshi();
    await tenv.AUDIT._set({ failing: true });
    const reports = await runIngestion(testDeps(), { venues: ["kalshi"], maxPages: 1, pageSize: 20 });
    await tenv.AUDIT._set({ failing: false });
    expect(reports[0]!.errors.audit_failed).toBeGreaterThan(0);
    expect(reports[0]!.outcome).toBe("partial");
    expect((await tenv.RISK._calls()).some((c) => c.method === "reportSuccess")).toBe(false);
  });
});

describe("rules replaced while a run goes", () => {
  it("write nothing gated under the old rules: no rows, no marks to risk; the run stops and the next one redoes the page", async () => {
    const sim = testDeps().fetch;
    let changed = false;
    const deps = testDeps({
      fetch: async (url, init) => {
        if (!changed) {
          changed = true; // an admin replaces the rules after the run loaded version 0
          await blockKalshi();
        }
        return sim(url, init);
      },
    });
    const { report } = await runVenue(deps, "kalshi", { maxPages: 1, pageSize: 20 });
    expect(report.errors.rules_changed).toBe(1);
    expect(report.outcome).not.toBe("ok");
    expect(report.stored).toBe(0);
    expect(await count("markets")).toBe(0);
    expect(await count("markets", "mark_price IS NOT NULL")).toBe(0);
    expect(await pushedMarks()).toEqual([]);
    // The next run reads version 1 and blocks the page, audited.
    const next = await runVenue(testDeps(), "kalshi", { maxPages: 1, pageSize: 20 });
    expect(next.report).toMatchObject({ stored: 0, blocked: 20 });
  });
});

describe("rules that would block nothing are refused", () => {
  const who = { method: "access" as const, subject: "dana", email: "dana@example.com" };
  it("a mistyped venue, or a rule narrowed to no venue", async () => {
    for (const rule of [
      { id: "typo", kind: "venue", value: "polymarkt", reason: "policy" },
      { id: "none", kind: "keyword", value: "election", venues: [], reason: "policy" },
    ]) {
      const r = await worker().putComplianceRules({ rules: [rule] } as never, who);
      expect(r, rule.id).toMatchObject({ ok: false, error: { code: "validation_failed" } });
    }
    const good = await worker().putComplianceRules(
      { rules: [{ id: "pm", kind: "venue", value: "polymarket", reason: "policy" }] },
      who,
    );
    expect(good.ok).toBe(true);
  });
});
