import * as v from "valibot";
import type { ParseFailure } from "./types";

/** JSON.parse then validate: a body that is not JSON or fails its schema is a ParseFailure, never data. */
export function parseBody<S extends v.GenericSchema>(
  schema: S,
  bytes: Uint8Array,
): { ok: true; value: v.InferOutput<S> } | ({ ok: false } & ParseFailure) {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch (error) {
    return { ok: false, kind: "malformed_json", detail: (error as Error).message.slice(0, 200) };
  }
  const parsed = v.safeParse(schema, json);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    return {
      ok: false,
      kind: "schema",
      detail: `${v.getDotPath(issue) ?? "(root)"}: ${issue.message}`.slice(0, 300),
    };
  }
  return { ok: true, value: parsed.output };
}

/** A fixed-point dollar string like "0.5600". */
export const DollarString = v.pipe(v.string(), v.regex(/^\d{1,9}(\.\d{1,6})?$/, "must be a decimal string"));

/** An ISO-8601 timestamp string. */
export const IsoTime = v.pipe(
  v.string(),
  v.check((s) => !Number.isNaN(Date.parse(s)), "must be a timestamp"),
);
