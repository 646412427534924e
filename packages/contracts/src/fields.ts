import * as v from "valibot";

// Named builders for the bounded fields the contracts declare again and again, so a declaration says what a field
// is rather than how valibot checks it. Each is exactly the pipe it names (same actions, same order, no messages),
// so parsing, the inferred types and the JSON Schema of the gateway's OpenAPI document are those of the pipe.

/** An integer from `min` to `max`, both included. */
export function IntIn(min: number, max: number) {
  return v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));
}

/** An integer of at least `min` (a count from 0, a version from 0 or 1). */
export function IntFrom(min: number) {
  return v.pipe(v.number(), v.integer(), v.minValue(min));
}

/**
 * A string of at most `max` characters: ids, codes, cursors and what machines write. Not screened for sensitive
 * data: free text people type is `FreeText`.
 */
export function Text(max: number) {
  return v.pipe(v.string(), v.maxLength(max));
}

/** A string of 1 to `max` characters (see `Text`). */
export function NonEmptyText(max: number) {
  return v.pipe(v.string(), v.minLength(1), v.maxLength(max));
}

/** An ISO 8601 timestamp (`2026-01-01T00:00:00Z`). */
export const Timestamp = v.pipe(v.string(), v.isoTimestamp());

/** How many rows one page of a list RPC holds at most, unless the list says otherwise. */
export const MAX_PAGE_LIMIT = 500;

/** The `limit` of a list RPC's query: 1 to MAX_PAGE_LIMIT rows. */
export const PageLimit = IntIn(1, MAX_PAGE_LIMIT);
