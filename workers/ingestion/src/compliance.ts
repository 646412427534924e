import {
  ComplianceRule,
  type ComplianceRulesView,
  type ComplianceVerdict,
  complianceLimitError,
  type Venue,
} from "@paulp/contracts";
import { withTimeout } from "@paulp/kit";
import * as v from "valibot";

/** What the gate looks at: an entity about to enter the market store, or an IBKR instrument about to be marked. */
export interface ComplianceEntity {
  venue: Venue;
  marketId: string;
  eventId: string | null;
  seriesId: string | null;
  title: string;
  category: string | null;
  rules: string | null;
}

/** The gate's answer. Anything but `allow` keeps the entity out of the store. */
export type GateDecision =
  | { decision: "allow" }
  | { decision: "block"; rule: ComplianceRule }
  | { decision: "deny"; reason: string };

/** An evaluator: returns "allow", or the blocking rule. Replaceable in tests to prove the gate fails closed. */
export type Evaluator = (rules: CompiledRule[], entity: ComplianceEntity) => unknown;

/** A rule with its matcher built once. */
export interface CompiledRule {
  rule: ComplianceRule;
  test: (e: ComplianceEntity) => boolean;
}

/**
 * A glob (`*` any run of characters, every other character literal, case-insensitive) as a matcher over a
 * lowercased id. Never a regular expression: a backtracking engine takes time exponential in the number of
 * `*` on a near miss (`*a*a*a*a*a*a*a*b` against 128 `a`). Here the id must start with the first literal
 * segment and end with the last, and each middle segment is found at its leftmost place after the one
 * before (leftmost is always safe when `*` is the only wildcard): at most one forward `indexOf` per segment,
 * never a step back.
 */
export function globMatcher(glob: string): (lowerId: string) => boolean {
  const segments = glob.toLowerCase().split("*");
  const first = segments[0]!;
  if (segments.length === 1) return (id) => id === first;
  const last = segments[segments.length - 1]!;
  const middle = segments.slice(1, -1).filter((s) => s !== "");
  return (id) => {
    const end = id.length - last.length;
    if (end < first.length || !id.startsWith(first) || !id.endsWith(last)) return false;
    let at = first.length;
    for (const segment of middle) {
      const found = id.indexOf(segment, at);
      if (found < 0 || found + segment.length > end) return false;
      at = found + segment.length;
    }
    return true;
  };
}

/** Build each rule's matcher. */
export function compileRules(rules: ComplianceRule[]): CompiledRule[] {
  // Rules share one lowercasing of the entity's text and ids: the evaluator asks every rule about the same
  // entity in turn, so the last entity's lowercased strings are kept (keyed on the strings themselves).
  let key: (string | null)[] = [];
  let lowerTitle = "";
  let lowerRules = "";
  let lowerIds: string[] = [];
  const lowered = (e: ComplianceEntity): void => {
    const k = [e.title, e.rules, e.marketId, e.eventId, e.seriesId];
    if (k.every((x, i) => x === key[i])) return;
    key = k;
    lowerTitle = e.title.toLowerCase();
    lowerRules = (e.rules ?? "").toLowerCase();
    lowerIds = [e.marketId, e.eventId, e.seriesId].filter((id) => id !== null).map((id) => id.toLowerCase());
  };
  return rules.map((rule) => {
    const applies = (e: ComplianceEntity) => !rule.venues || rule.venues.some((venue) => venue === e.venue);
    const value = rule.value.toLowerCase();
    switch (rule.kind) {
      case "venue":
        return { rule, test: (e) => applies(e) && e.venue === value };
      case "category":
        return { rule, test: (e) => applies(e) && (e.category ?? "").toLowerCase() === value };
      case "pattern": {
        const matches = globMatcher(rule.value);
        return {
          rule,
          test: (e) => {
            if (!applies(e)) return false;
            lowered(e);
            return lowerIds.some(matches);
          },
        };
      }
      case "keyword":
        return {
          rule,
          test: (e) => {
            if (!applies(e)) return false;
            lowered(e);
            return lowerTitle.includes(value) || lowerRules.includes(value);
          },
        };
      default:
        // A kind this code does not know cannot be evaluated: it blocks all it applies to (fail closed).
        return { rule, test: applies };
    }
  });
}

/** The default evaluator: the first matching rule blocks. */
export const evaluateRules: Evaluator = (rules, entity) => {
  for (const r of rules) if (r.test(entity)) return r.rule;
  return "allow";
};

/**
 * ComplianceAgent: every entity is checked before it enters the market store. Fail closed: rules that do not
 * load in time or do not validate, and an evaluator that throws or answers anything but "allow" or a known
 * rule, all deny. The evaluation itself has no clock to watch (a workerd clock does not move while code
 * runs): it is bounded by what a rule set may hold (`COMPLIANCE_LIMITS`, checked when rules are stored and
 * again when they load) and by matchers that never backtrack.
 */
export class ComplianceAgent {
  private compiled: CompiledRule[] | null = null;
  private loadError: string | null = null;
  private ruleIds = new Set<string>();

  constructor(
    private readonly evaluator: Evaluator = evaluateRules,
    private readonly loadBudgetMs = 2_000,
  ) {}

  /** Load the current rules (bounded in time); afterwards `check` answers from them. */
  async prepare(load: () => Promise<ComplianceRule[]>): Promise<void> {
    try {
      const rules = await withTimeout(load(), this.loadBudgetMs, "compliance rules load");
      // A set stored before a limit existed is not evaluated (its time is not bounded): deny until replaced.
      const overLimit = complianceLimitError(rules);
      if (overLimit) throw new Error(`rule set over its limits: ${overLimit}`);
      this.compiled = compileRules(rules);
      this.ruleIds = new Set(rules.map((r) => r.id));
      this.loadError = null;
    } catch (error) {
      this.compiled = null;
      this.loadError = `rules unavailable: ${(error as Error)?.message ?? String(error)}`;
    }
  }

  /** Why the gate cannot decide anything (its rules did not load), or null when it can. */
  get unavailable(): string | null {
    return this.compiled ? null : (this.loadError ?? "rules not loaded");
  }

  /** Decide one entity. Never throws; never allows on doubt. */
  check(entity: ComplianceEntity): GateDecision {
    if (!this.compiled) return { decision: "deny", reason: this.loadError ?? "rules not loaded" };
    let verdict: unknown;
    try {
      verdict = this.evaluator(this.compiled, entity);
    } catch (error) {
      return { decision: "deny", reason: `gate error: ${(error as Error)?.message ?? String(error)}` };
    }
    if (verdict === "allow") return { decision: "allow" };
    const parsed = v.safeParse(ComplianceRule, verdict);
    if (parsed.success && this.ruleIds.has(parsed.output.id))
      return { decision: "block", rule: parsed.output };
    return { decision: "deny", reason: "unknown verdict" };
  }
}

/**
 * The gate's answer on one stored market as execution's pre-trade check reports it: a market that is not
 * stored is `unknown`, never `allow` (a blocked market is removed from the store, so absence proves nothing).
 */
export function verdictOf(market: ComplianceEntity | null, agent: ComplianceAgent): ComplianceVerdict {
  if (!market)
    return {
      verdict: "unknown",
      reason: "market not stored: never ingested, or removed by a compliance rule",
    };
  const d = agent.check(market);
  if (d.decision === "allow") return { verdict: "allow" };
  if (d.decision === "block") return { verdict: "block", ruleId: d.rule.id, reason: d.rule.reason };
  return { verdict: "unknown", reason: `compliance gate cannot decide: ${d.reason}` };
}

/** Read the stored rule set, validating every row (a bad row fails the load, which denies everything). */
/**
 * A gate holding the rules in force now (an `agent` given, as tests do, is prepared and used instead). Stored
 * rows passed the rules of their own ingestion; every read that serves them checks them again with this.
 */
export async function gateWithCurrentRules(
  db: D1Database,
  agent: ComplianceAgent = new ComplianceAgent(),
): Promise<ComplianceAgent> {
  await agent.prepare(async () => (await loadRules(db)).rules);
  return agent;
}

export async function loadRules(db: D1Database): Promise<ComplianceRulesView> {
  const [rows, meta] = await db.batch([
    db.prepare("SELECT id, rule FROM compliance_rules ORDER BY position"),
    db.prepare("SELECT version, updated_at, updated_by FROM compliance_meta WHERE singleton = 1"),
  ]);
  const rules = (rows!.results as { id: string; rule: string }[]).map((row) => {
    const parsed = v.safeParse(ComplianceRule, JSON.parse(row.rule));
    if (!parsed.success || parsed.output.id !== row.id)
      throw new Error(`compliance rule ${row.id} is invalid`);
    return parsed.output;
  });
  const m = (meta!.results as { version: number; updated_at: string; updated_by: string }[])[0];
  return {
    version: m?.version ?? 0,
    rules,
    updatedAt: m?.updated_at ?? null,
    updatedBy: m?.updated_by ?? null,
  };
}

/** Statements that replace the rule set with `rules` at `version`. */
export function replaceRulesStatements(
  db: D1Database,
  rules: ComplianceRule[],
  version: number,
  at: string,
  by: string,
): D1PreparedStatement[] {
  return [
    // First: take the version. A concurrent update that took it already makes this fail and the batch roll back.
    db.prepare("INSERT INTO compliance_versions (version, taken_at) VALUES (?1, ?2)").bind(version, at),
    db.prepare("DELETE FROM compliance_rules"),
    ...rules.map((r, i) =>
      db
        .prepare("INSERT INTO compliance_rules (id, position, rule) VALUES (?1, ?2, ?3)")
        .bind(r.id, i, JSON.stringify(r)),
    ),
    db
      .prepare(
        `INSERT INTO compliance_meta (singleton, version, updated_at, updated_by) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT (singleton) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at,
         updated_by = excluded.updated_by`,
      )
      .bind(version, at, by),
  ];
}
