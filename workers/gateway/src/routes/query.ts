import { parseOr400 } from "@paulp/kit";
import type * as v from "valibot";

/** The request's query string checked against `schema` (a strict object of strings): 400 naming the field, else the parsed value. */
export function parseQuery<const S extends v.GenericSchema>(request: Request, schema: S): v.InferOutput<S> {
  return parseOr400(schema, Object.fromEntries(new URL(request.url).searchParams));
}
