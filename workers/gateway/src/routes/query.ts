import { parseOr400 } from "@paulp/kit";
import * as v from "valibot";
import type { GatewayRequest } from "../context";

/** The request's query string checked against `schema` (a strict object of strings): 400 naming the field, else the parsed value. */
export function parseQuery<const S extends v.GenericSchema>(request: Request, schema: S): v.InferOutput<S> {
  return parseOr400(schema, Object.fromEntries(new URL(request.url).searchParams));
}

/** One query parameter (undefined when absent) checked against `schema`: 400 naming the parameter. */
export function queryParam<const S extends v.GenericSchema>(
  request: Request,
  name: string,
  schema: S,
): v.InferOutput<S> {
  const raw = new URL(request.url).searchParams.get(name) ?? undefined;
  return parseOr400(v.object({ [name]: schema }), { [name]: raw })[name];
}

/** One path parameter (`:id`) checked against `schema`: 400 naming the parameter. */
export function pathParam<const S extends v.GenericSchema>(
  request: GatewayRequest,
  name: string,
  schema: S,
): v.InferOutput<S> {
  return parseOr400(v.object({ [name]: schema }), { [name]: request.params[name] })[name];
}
