import type { ComplianceRule } from "@paulp/contracts";
import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import {
  ComplianceAgent,
  type ComplianceEntity,
  compileRules,
  evaluateRules,
  gateWithCurrentRules,
  globMatcher,
} from "../src/compliance";
import { runVenue } from "../src/pipeline";
import { ACTOR, auditEvents, count, resetAll, tenv, testDeps, worker } from "./helpers";

beforeEach(resetAll);

const entity: ComplianceEntity = {
  venue: "kalshi",
  marketId: "KXHIGHAUS-27JAN05-B80N7",
  eventId: "KXHIGHAUS-27JAN05",
  seriesId: "KXHIGHAUS",
  title: "Highest temperature in Austin",
  category: "Climate and Weather",
  rules: "per the National Weather Service",
};
const rule = (r: Partial<ComplianceRule> & Pick<ComplianceRule, "kind" | "value">): ComplianceRule => ({
  id: `r-${r.kind}`,
  reason: "test",
  ...r,
});

describe("ComplianceAgent (unit)", () => {
  it("blocks by venue, category, pattern and keyword (title or rules), and scopes by venues", () => {
    const cases: [ComplianceRule, boolean][] = [
      [rule({ kind: "venue", value: "kalshi" }), true],
      [rule({ kind: "venue", value: "polymarket" }), false],
      [rule({ kind: "category", value: "climate and weather" }), true],
      [rule({ kind: "pattern", value: "KXHIGH*" }), true],
      [rule({ kind: "pattern", value: "kxhighaus-27jan05" }), true],
      [rule({ kind: "pattern", value: "KXCPI*" }), false],
      [rule({ kind: "keyword", value: "austin" }), true],
      [rule({ kind: "keyword", value: "weather service" }), true],
      [rule({ kind: "keyword", value: "election" }), false],
      [rule({ kind: "keyword", value: "austin", venues: ["polymarket"] }), false],
    ];
    for (const [r, blocked] of cases) {
      const verdict = evaluateRules(compileRules([r]), entity);
      expect(verdict, `${r.kind}=${r.value}`).toEqual(blocked ? r : "allow");
    }
  });

  it("a pattern's regex metacharacters are literal", () => {
    expect(evaluateRules(compileRules([rule({ kind: "pattern", value: "KX.*" })]), entity)).toBe("allow");
  });

  it("fails closed: rules that do not load, an evaluator that throws, an unknown verdict", async () => {
    const good = async () => [rule({ kind: "keyword", value: "nothing-matches" })];
    const unloaded = new ComplianceAgent();
    expect(unloaded.check(entity)).toMatchObject({ decision: "deny" });
    const failingLoad = new ComplianceAgent();
    await failingLoad.prepare(async () => {
      throw new Error("d1 down");
    });
    expect(failingLoad.check(entity)).toEqual({ decision: "deny", reason: "rules unavailable: d1 down" });
    // A load that has not answered when the budget ends (the test holds it until after): the budget is what is
    // tested, so nothing races it.
    const slowLoad = new ComplianceAgent(undefined, 20);
    let answerLoad!: (rules: ComplianceRule[]) => void;
    await slowLoad.prepare(() => new Promise<ComplianceRule[]>((r) => (answerLoad = r)));
    expect(slowLoad.check(entity)).toMatchObject({
      decision: "deny",
      reason: expect.stringContaining("timed out"),
    });
    // Its answer coming later changes nothing: the run's gate stays closed.
    answerLoad([]);
    await Promise.resolve();
    expect(slowLoad.check(entity)).toMatchObject({ decision: "deny" });
    const throwing = new ComplianceAgent(() => {
      throw new Error("boom");
    });
    await throwing.prepare(good);
    expect(throwing.check(entity)).toEqual({ decision: "deny", reason: "gate error: boom" });
    for (const weird of [
      undefined,
      null,
      "block",
      1,
      { id: "not-a-rule" },
      rule({ kind: "venue", value: "x", id: "unknown-id" }),
    ]) {
      const agent = new ComplianceAgent(() => weird);
      await agent.prepare(good);
      expect(agent.check(entity), JSON.stringify(weird)).toEqual({
        decision: "deny",
        reason: "unknown verdict",
      });
    }
  });
});

// #13 item 19: the gate's time is bounded by what a rule set may hold, not by a clock read after the fact
// (which a workerd isolate never sees move while code runs).
describe("bounded evaluation", () => {
  it("a glob never backtracks: a near miss with many '*' against a long id answers at once", () => {
    // A backtracking regex (`^.*a.*a…b$`) takes ~C(128, 7) steps here: the isolate hangs.
    const nearMiss = { ...entity, marketId: "a".repeat(128), eventId: "a".repeat(128), seriesId: null };
    const r = rule({ kind: "pattern", value: "*a*a*a*a*a*a*a*b" });
    expect(evaluateRules(compileRules([r]), nearMiss)).toBe("allow");
    expect(evaluateRules(compileRules([r]), { ...nearMiss, marketId: `${"a".repeat(127)}b` })).toEqual(r);
  });

  it("matches globs exactly as an anchored, case-insensitive regex would", () => {
    const reference = (glob: string, id: string) =>
      new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`, "i").test(id);
    const alphabet = fc.constantFrom("a", "b", "A", "-", ".");
    fc.assert(
      fc.property(
        fc.array(fc.oneof(alphabet, fc.constant("*")), { maxLength: 8 }).map((cs) => cs.join("")),
        fc.array(alphabet, { maxLength: 10 }).map((cs) => cs.join("")),
        (glob, id) => {
          fc.pre(glob.length > 0);
          expect(globMatcher(glob)(id.toLowerCase())).toBe(reference(glob, id));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("a rule set over its limits is refused when stored, naming the limit and the rule", async () => {
    const pattern = (id: string, value: string) => ({ id, kind: "pattern" as const, value, reason: "x" });
    const keyword = (i: number) => ({ id: `k${i}`, kind: "keyword" as const, value: `w${i}`, reason: "x" });
    const cases: [ComplianceRule[], RegExp][] = [
      [[pattern("stars", "*a*a*a*a*a*a*a*a*b")], /rule stars: .*at most 8 '\*'/],
      [[pattern("long", `KX${"A".repeat(63)}*`)], /rule long: .*at most 64 characters/],
      [Array.from({ length: 51 }, (_, i) => keyword(i)), /at most 50 keyword rules/],
      [Array.from({ length: 101 }, (_, i) => pattern(`p${i}`, `KX${i}*`)), /at most 100 pattern rules/],
    ];
    for (const [rules, message] of cases) {
      const r = await worker().putComplianceRules({ rules }, ACTOR);
      expect(r, String(message)).toMatchObject({ ok: false, error: { code: "validation_failed" } });
      expect(!r.ok && r.error.message).toMatch(message);
    }
    expect(await count("compliance_rules")).toBe(0);
    // At the limit is accepted: 8 '*' (a run counts once), 64 characters, 50 keywords, 100 patterns.
    const atLimit = [
      pattern("eight", "**a*a*a*a*a*a*a*b"),
      pattern("sixty-four", `KX${"A".repeat(61)}*`),
      ...Array.from({ length: 50 }, (_, i) => keyword(i)),
      ...Array.from({ length: 98 }, (_, i) => pattern(`p${i}`, `KX${i}*`)),
    ];
    expect(await worker().putComplianceRules({ rules: atLimit }, ACTOR)).toMatchObject({ ok: true });
  });

  it("a stored set over the limits (written before they existed) denies everything, and can be replaced", async () => {
    const insert = tenv.D1_MARKETS.prepare(
      "INSERT INTO compliance_rules (id, position, rule) VALUES (?1, ?2, ?3)",
    );
    await tenv.D1_MARKETS.batch(
      Array.from({ length: 51 }, (_, i) =>
        insert.bind(
          `k${i}`,
          i,
          JSON.stringify({ id: `k${i}`, kind: "keyword", value: `zz${i}`, reason: "old" }),
        ),
      ),
    );
    const agent = await gateWithCurrentRules(tenv.D1_MARKETS);
    expect(agent.check(entity)).toMatchObject({
      decision: "deny",
      reason: expect.stringContaining("at most 50 keyword rules"),
    });
    // The operators can still read it and replace it.
    expect(await worker().getComplianceRules()).toMatchObject({ ok: true, value: { rules: { length: 51 } } });
    expect(await worker().putComplianceRules({ rules: [] }, ACTOR)).toMatchObject({ ok: true });
    expect((await gateWithCurrentRules(tenv.D1_MARKETS)).check(entity)).toEqual({ decision: "allow" });
  });
});

describe("compliance gate in the pipeline", () => {
  it("blocked entities are not stored, audited once as compliance.blocked with the rule and evidence hash", async () => {
    const put = await worker().putComplianceRules(
      { rules: [{ id: "no-weather-austin", kind: "pattern", value: "KXHIGHAUS*", reason: "test block" }] },
      ACTOR,
    );
    expect(put.ok).toBe(true);
    const { report } = await runVenue(testDeps(), "kalshi", { maxPages: 1, pageSize: 300 });
    expect(report.blocked).toBeGreaterThan(0);
    expect(report.stored + report.blocked + (report.errors.market_unrepresentable ?? 0)).toBe(300);
    expect(await count("markets", "market_id LIKE 'KXHIGHAUS%'")).toBe(0);
    expect(await count("markets")).toBe(report.stored);
    const blocked = (await auditEvents()).filter((e) => e.type === "compliance.blocked");
    expect(blocked).toHaveLength(report.blocked);
    expect(blocked[0]!.payload).toMatchObject({
      venue: "kalshi",
      rule: { id: "no-weather-austin" },
      rulesVersion: 1,
    });
    const hash = blocked[0]!.payload.evidenceHash as string;
    expect(await tenv.R2_EVIDENCE.head(hash)).not.toBeNull();
    // Blocked marks never reach risk.
    const marks = (await tenv.RISK._calls())
      .filter((c) => c.method === "recordMarks")
      .flatMap((c) => c.marks as { market: string }[]);
    expect(marks.some((m) => m.market.startsWith("KXHIGHAUS"))).toBe(false);
    // The next pass over the same markets does not audit them again under the same rules.
    await tenv.D1_MARKETS.prepare("DELETE FROM ingest_state").run();
    await runVenue(testDeps(), "kalshi", { maxPages: 1, pageSize: 300 });
    expect((await auditEvents()).filter((e) => e.type === "compliance.blocked")).toHaveLength(report.blocked);
  });

  it("a market blocked after it was stored leaves the store and is refused on read", async () => {
    await runVenue(testDeps(), "kalshi", { maxPages: 1, pageSize: 50 });
    const id = (await tenv.D1_MARKETS.prepare("SELECT market_id FROM markets LIMIT 1").first<{
      market_id: string;
    }>())!.market_id;
    expect((await worker().getMarket("kalshi", id)).ok).toBe(true);
    await worker().putComplianceRules(
      { rules: [{ id: "one", kind: "pattern", value: id, reason: "late block" }] },
      ACTOR,
    );
    const read = await worker().getMarket("kalshi", id);
    expect(read).toMatchObject({ ok: false, error: { code: "compliance_blocked" } });
    const book = await worker().getOrderBook("kalshi", id, 0);
    expect(book).toMatchObject({ ok: false, error: { code: "compliance_blocked" } });
    expect(await count("order_books")).toBe(0);
    await tenv.D1_MARKETS.prepare("DELETE FROM ingest_state").run();
    await runVenue(testDeps(), "kalshi", { maxPages: 1, pageSize: 50 });
    expect(await count("markets", "market_id = ?1", id)).toBe(0);
    expect(await count("markets", "market_id = ?1 AND mark_price IS NOT NULL", id)).toBe(0);
  });

  it("a gate failure (an unreadable rule) ingests nothing, is audited, and counts as a failed run", async () => {
    await tenv.D1_MARKETS.prepare(
      "INSERT INTO compliance_rules (id, position, rule) VALUES ('bad', 0, '{\"kind\":\"nonsense\"}')",
    ).run();
    const { report, consecutiveFailures } = await runVenue(testDeps(), "polymarket", {
      maxPages: 1,
      pageSize: 40,
    });
    // Nothing fetched, stored or marked; the run failed (not "ok" with every market denied) and is counted.
    expect(report).toMatchObject({ outcome: "failed", fetched: 0, stored: 0, passCompleted: false });
    expect(report.errors.compliance_unavailable).toBe(1);
    expect(consecutiveFailures).toBeGreaterThanOrEqual(1);
    expect(await count("markets")).toBe(0);
    expect((await tenv.RISK._calls()).filter((c) => c.method === "recordMarks")).toHaveLength(0);
    const down = (await auditEvents()).find((e) => e.type === "ingestion.compliance_unavailable");
    expect(down?.payload).toMatchObject({
      venue: "polymarket",
      detail: expect.stringContaining("rules unavailable"),
    });
    // Reads fail closed too.
    expect(await worker().getComplianceRules()).toMatchObject({
      ok: false,
      error: { code: "internal_error" },
    });
  });
});

describe("rules over RPC", () => {
  it("each change is audited with who made it before it applies", async () => {
    const who = { method: "access" as const, subject: "alice", email: "alice@example.com" };
    const r = await worker().putComplianceRules(
      { rules: [{ id: "k1", kind: "keyword", value: "election", reason: "policy" }] },
      who,
    );
    expect(r).toMatchObject({ ok: true, value: { version: 1, updatedBy: "alice", rules: [{ id: "k1" }] } });
    const event = (await auditEvents()).find((e) => e.type === "compliance.rules_updated");
    expect(event?.actor).toEqual(who);
    expect(event?.payload).toMatchObject({ fromVersion: 0, version: 1, ruleIds: ["k1"] });
    const stale = await worker().putComplianceRules({ rules: [], expectedVersion: 0 }, who);
    expect(stale).toMatchObject({ ok: false, error: { code: "conflict" } });
  });

  it("two updates from the same expected version: one applies, the other changes nothing and says so", async () => {
    const who = { method: "access" as const, subject: "bob", email: "bob@example.com" };
    const rule = (id: string) => ({ id, kind: "keyword" as const, value: id, reason: "race" });
    const [a, b] = await Promise.all([
      worker().putComplianceRules({ rules: [rule("racer-a")], expectedVersion: 0 }, who),
      worker().putComplianceRules({ rules: [rule("racer-b")], expectedVersion: 0 }, who),
    ]);
    const results = [a, b];
    const won = results.filter((r) => r.ok);
    const lost = results.filter((r) => !r.ok);
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ ok: false, error: { code: "conflict" } });
    const now = await worker().getComplianceRules();
    expect(now.ok && now.value.version).toBe(1);
    // The rules in force are the winner's, whole.
    expect(now.ok && now.value.rules.map((r) => r.id)).toEqual(
      won[0]!.ok ? won[0]!.value.rules.map((r) => r.id) : [],
    );
    const events = await auditEvents();
    if (lost[0]!.ok) return;
    // Either the loser was refused before its audit (stale version), or its audited attempt is marked lost.
    const lostMark = events.filter((e) => e.type === "compliance.rules_update_lost");
    const updates = events.filter((e) => e.type === "compliance.rules_updated");
    expect(updates.length - lostMark.length).toBe(1);
  });

  it("an update whose version was taken between its check and its write changes nothing and is marked lost", async () => {
    const who = { method: "access" as const, subject: "carol", email: "carol@example.com" };
    // The version the next update will take (1) is taken already, as by a concurrent writer in between.
    await tenv.D1_MARKETS.prepare(
      "INSERT INTO compliance_versions (version, taken_at) VALUES (1, 'x')",
    ).run();
    const r = await worker().putComplianceRules(
      { rules: [{ id: "late", kind: "keyword", value: "late", reason: "race" }], expectedVersion: 0 },
      who,
    );
    expect(r).toMatchObject({ ok: false, error: { code: "conflict" } });
    expect(await count("compliance_rules")).toBe(0);
    const lost = (await auditEvents()).filter((e) => e.type === "compliance.rules_update_lost");
    expect(lost).toHaveLength(1);
    expect(lost[0]!.payload).toMatchObject({ version: 1 });
  });

  it("no audit, no change", async () => {
    await tenv.AUDIT._set({ failing: true });
    const r = await worker().putComplianceRules(
      { rules: [{ id: "k1", kind: "venue", value: "kalshi", reason: "x" }] },
      ACTOR,
    );
    expect(r).toMatchObject({ ok: false, error: { code: "audit_unavailable" } });
    expect(await count("compliance_rules")).toBe(0);
    expect(await worker().getComplianceRules()).toMatchObject({ ok: true, value: { version: 0, rules: [] } });
  });

  it("refuses invalid rule sets", async () => {
    const dup = await worker().putComplianceRules(
      {
        rules: [
          { id: "a", kind: "venue", value: "kalshi", reason: "x" },
          { id: "a", kind: "venue", value: "kalshi", reason: "y" },
        ],
      },
      ACTOR,
    );
    expect(dup).toMatchObject({ ok: false, error: { code: "validation_failed" } });
    const bad = await worker().putComplianceRules(
      { rules: [{ id: "a", kind: "everything", value: "", reason: "" }] } as never,
      ACTOR,
    );
    expect(bad).toMatchObject({ ok: false, error: { code: "validation_failed" } });
    expect(await auditEvents()).toHaveLength(0);
  });
});
