import { MAX_JSON_DEPTH, nestsDeeperThan } from "@paulp/contracts";
import * as v from "valibot";
import type { MarketSkip, ParseFailure } from "./types";

/**
 * A hand-written check that answers `true` only for values the schema accepts unchanged (no defaults applied,
 * no transforms), so the parsed JSON can be used as the schema's output. `false` means "not sure": valibot
 * then decides and names the issue. Equivalence is property-tested against the schema.
 */
export type FastGuard<S extends v.GenericSchema> = (value: unknown) => value is v.InferOutput<S>;

/** JSON.parse then validate: a body that is not JSON or fails its schema is a ParseFailure, never data. */
export function parseBody<S extends v.GenericSchema>(
  schema: S,
  bytes: Uint8Array,
  fast?: FastGuard<S>,
): { ok: true; value: v.InferOutput<S> } | ({ ok: false } & ParseFailure) {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch (error) {
    return { ok: false, kind: "malformed_json", detail: (error as Error).message.slice(0, 200) };
  }
  // A venue answer nesting deeper than any real one is refused before anything recursive touches it. JSON.parse is
  // not recursive in V8 (a 200,000-deep array parses), so the walk over the parsed value decides, at a third of the
  // cost of scanning the text before the parse (a thousand-market page: ~1 ms against ~2.6 ms in workerd).
  if (nestsDeeperThan(json)) {
    return { ok: false, kind: "malformed_json", detail: `nests deeper than ${MAX_JSON_DEPTH} levels` };
  }
  if (fast?.(json)) return { ok: true, value: json };
  const parsed = v.safeParse(schema, json);
  if (!parsed.success) return { ok: false, kind: "schema", detail: issueText(parsed.issues).slice(0, 300) };
  return { ok: true, value: parsed.output };
}

/** The first issue valibot found, as `path: message`. */
export function issueText(issues: readonly [v.BaseIssue<unknown>, ...v.BaseIssue<unknown>[]]): string {
  return `${v.getDotPath(issues[0]) ?? "(root)"}: ${issues[0].message}`;
}

/** Venue text cut for an audit payload, lone surrogates replaced (the audit chain refuses them). */
export function auditText(s: string, max: number): string {
  return s
    .slice(0, max)
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}

/** A market the venue listed that failed its schema: skipped, its id and valibot's reason kept for the audit. */
export function schemaSkip(
  raw: unknown,
  idField: string,
  issues: readonly [v.BaseIssue<unknown>, ...v.BaseIssue<unknown>[]],
): MarketSkip {
  return { id: listedId(raw, idField), reason: "schema", detail: auditText(issueText(issues), 200) };
}

/** A listed market's own id as the venue sent it (whatever it is), fit for an audit payload. */
export function listedId(raw: unknown, idField: string): string {
  const id = (raw as Record<string, unknown> | null)?.[idField];
  return auditText(typeof id === "string" || typeof id === "number" ? String(id) : "?", 128);
}

/** The pattern of a fixed-point dollar string (shared by the schema and the fast guards). */
export const DOLLAR_RE = /^\d{1,9}(\.\d{1,6})?$/;

/** A fixed-point dollar string like "0.5600". */
export const DollarString = v.pipe(v.string(), v.regex(DOLLAR_RE, "must be a decimal string"));

/** The pattern of a binary contract's price: a dollar string from 0 to 1 (a contract pays at most $1). */
export const PRICE_RE = /^(0(\.\d{1,6})?|1(\.0{1,6})?)$/;

/** A binary contract's price, "0" to "1": anything above a dollar is not a price but a broken answer. */
export const PriceString = v.pipe(v.string(), v.regex(PRICE_RE, "must be a price from 0 to 1"));

/** The check `IsoTime` applies (shared by the schema and the fast guards). */
export const isTimestamp = (s: string): boolean => !Number.isNaN(Date.parse(s));

/** An ISO-8601 timestamp string. */
export const IsoTime = v.pipe(v.string(), v.check(isTimestamp, "must be a timestamp"));
