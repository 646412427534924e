// The compliance gate's contract: the rule set (its schema and the limits that bound its evaluation), the stored
// view of it, and the verdict a pre-trade check answers.
import * as v from "valibot";
import { IntFrom } from "./fields";
import { FreeText } from "./free-text";
import { MarketVenue } from "./ingestion";

/**
 * What a rule set may hold, so that any accepted set evaluates in bounded time (docs/ingestion.md states the
 * bound): every market is checked against every rule, on every page and every read.
 */
export const COMPLIANCE_LIMITS = {
  /** Rules in a set. Venue and category rules are one comparison each. */
  rules: 500,
  /** Keyword rules: each one searches the market's title and rules text. */
  keywordRules: 50,
  /** Pattern rules: each one matches three ids (≤ 128 characters) segment by segment. */
  patternRules: 100,
  /** Characters in a pattern. */
  patternLength: 64,
  /** `*` in a pattern (a run of `*` counts once): at most this many + 1 literal segments to find in order. */
  patternStars: 8,
} as const;

/** The `*` wildcards of a glob, a run of them counting once (`a**b` has one). */
export function starCount(glob: string): number {
  return glob.match(/\*+/g)?.length ?? 0;
}

/**
 * The first way a rule set exceeds `COMPLIANCE_LIMITS`, naming the rule, or null. Checked when a set is stored
 * and again by the gate when it loads one (a set stored before a limit existed then denies, fail closed).
 */
export function complianceLimitError(
  rules: readonly { id: string; kind: string; value: string }[],
): string | null {
  const L = COMPLIANCE_LIMITS;
  if (rules.length > L.rules) return `at most ${L.rules} rules`;
  const count = (kind: string) => rules.filter((r) => r.kind === kind).length;
  if (count("keyword") > L.keywordRules)
    return `at most ${L.keywordRules} keyword rules (each one searches every market's text)`;
  if (count("pattern") > L.patternRules) return `at most ${L.patternRules} pattern rules`;
  for (const r of rules) {
    if (r.kind !== "pattern") continue;
    if (r.value.length > L.patternLength)
      return `rule ${r.id}: a pattern is at most ${L.patternLength} characters`;
    if (starCount(r.value) > L.patternStars)
      return `rule ${r.id}: a pattern has at most ${L.patternStars} '*' (a run of '*' counts once)`;
  }
  return null;
}

/**
 * One compliance rule. `venue` blocks a whole venue; `category` an exact category (case-insensitive);
 * `pattern` a series/event/ticker glob (`*` any run of characters, case-insensitive); `keyword` a word or
 * phrase found in the title or rules (case-insensitive). `venues` narrows a rule to some venues.
 */
export const ComplianceRule = v.pipe(
  v.object({
    id: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,64}$/, "1–64 of [A-Za-z0-9_.-]")),
    kind: v.picklist(["venue", "category", "pattern", "keyword"]),
    value: FreeText(200, 1),
    // A rule narrowed to no venue would block nothing while reading as in force.
    venues: v.optional(v.pipe(v.array(MarketVenue), v.minLength(1, "venues: name at least one venue"))),
    reason: FreeText(500, 1),
  }),
  // A mistyped venue (`polymarkt`) would block nothing while reading as in force.
  v.check(
    (r) => r.kind !== "venue" || v.is(MarketVenue, r.value),
    "a venue rule's value must be a venue: kalshi or polymarket",
  ),
);
/** One compliance rule. */
export type ComplianceRule = v.InferOutput<typeof ComplianceRule>;

/** The body of `PUT /admin/compliance/rules`: the whole rule set, replacing the current one. */
export const ComplianceRuleSet = v.pipe(
  v.object({
    rules: v.pipe(
      v.array(ComplianceRule),
      v.maxLength(COMPLIANCE_LIMITS.rules, `at most ${COMPLIANCE_LIMITS.rules} rules`),
    ),
    /** Optimistic concurrency: refuse when the stored version differs. */
    expectedVersion: v.optional(IntFrom(0)),
  }),
  v.check((s) => new Set(s.rules.map((r) => r.id)).size === s.rules.length, "rule ids must be unique"),
  v.check(
    (s) => complianceLimitError(s.rules) === null,
    (issue) => complianceLimitError((issue.input as { rules: ComplianceRule[] }).rules) ?? "over a limit",
  ),
);
/** A replacement rule set. */
export type ComplianceRuleSet = v.InferOutput<typeof ComplianceRuleSet>;

/** The stored rule set with its version and who last changed it. */
export interface ComplianceRulesView {
  version: number;
  rules: ComplianceRule[];
  updatedAt: string | null;
  updatedBy: string | null;
}

/**
 * The compliance verdict on one market under the rules in force now. `unknown`: the gate cannot decide (rules
 * unavailable), or the market is not stored (never ingested, or removed by a rule: blocked markets are not
 * kept). `not_applicable`: an IBKR instrument, which no rule can name (rules cover ingested markets).
 */
export type ComplianceVerdict =
  | { verdict: "allow" }
  | { verdict: "block"; ruleId: string; reason: string }
  | { verdict: "unknown"; reason: string }
  | { verdict: "not_applicable"; reason: string };

/** What `preTradeCheck` answers. */
export interface PreTradeCheck {
  compliance: ComplianceVerdict;
  rulesVersion: number;
  /** The cited evidence hashes ingestion does not hold, in the order cited. */
  missingEvidence: string[];
}
