import { type OutputUnit, Validator } from "@cfworker/json-schema";
import * as v from "valibot";

/**
 * Reading a venue's own Swagger 2.0 description: find the operation a request hits, validate bodies against
 * the schemas it documents, and build fixtures from them. Validation goes through `@cfworker/json-schema`,
 * which interprets schemas instead of compiling them with `new Function` (workerd refuses code generation,
 * and the suites that use this run in workerd next to the workers they test).
 */

/** A JSON Schema node as Swagger 2.0 writes it (draft 4 subset, `$ref` into `#/definitions`). */
export interface Schema {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  additionalProperties?: boolean | Schema;
  [k: string]: unknown;
}

export interface Parameter {
  name: string;
  in: "path" | "query" | "body" | "header" | "formData";
  required?: boolean;
  type?: string;
  enum?: unknown[];
  schema?: Schema;
}

export interface Operation {
  summary?: string;
  description?: string;
  parameters?: Parameter[];
  responses: Record<string, { description?: string; schema?: Schema }>;
}

export interface SwaggerDoc {
  swagger: string;
  basePath: string;
  paths: Record<string, Record<string, Operation>>;
  definitions: Record<string, Schema>;
}

/** A schema node, as far as this module reads it (other keywords pass through to the validator). */
const SchemaNode: v.GenericSchema<Schema> = v.looseObject({
  $ref: v.optional(v.string()),
  type: v.optional(v.string()),
  properties: v.optional(
    v.record(
      v.string(),
      v.lazy(() => SchemaNode),
    ),
  ),
  items: v.optional(v.lazy(() => SchemaNode)),
  required: v.optional(v.array(v.string())),
  enum: v.optional(v.array(v.unknown())),
  additionalProperties: v.optional(v.union([v.boolean(), v.lazy(() => SchemaNode)])),
});

const SwaggerDocShape = v.looseObject({
  swagger: v.string(),
  basePath: v.string(),
  paths: v.record(
    v.string(),
    v.record(
      v.string(),
      v.looseObject({
        summary: v.optional(v.string()),
        description: v.optional(v.string()),
        parameters: v.optional(
          v.array(
            v.looseObject({
              name: v.string(),
              in: v.picklist(["path", "query", "body", "header", "formData"]),
              required: v.optional(v.boolean()),
              type: v.optional(v.string()),
              enum: v.optional(v.array(v.unknown())),
              schema: v.optional(SchemaNode),
            }),
          ),
        ),
        responses: v.record(
          v.string(),
          v.looseObject({ description: v.optional(v.string()), schema: v.optional(SchemaNode) }),
        ),
      }),
    ),
  ),
  definitions: v.record(v.string(), SchemaNode),
});

/**
 * A Swagger 2.0 document read from JSON, checked as far as this module relies on it (a document that does not
 * fit throws, naming where). Every field is kept, read or not.
 */
export function parseSwaggerDoc(json: unknown): SwaggerDoc {
  const parsed = v.safeParse(SwaggerDocShape, json);
  if (parsed.success) return parsed.output;
  const issue = parsed.issues[0];
  throw new Error(
    `not a Swagger 2.0 document this reader understands: ${v.getDotPath(issue)}: ${issue.message}`,
  );
}

/** An operation found for a concrete request. */
export interface Match {
  template: string;
  method: string;
  operation: Operation;
  pathParams: Record<string, string>;
}

/**
 * Close every object schema that names its properties: a field the spec does not name fails validation. Swagger
 * leaves objects open by default, which would let a simulator invent fields unnoticed; an object the spec
 * declares without properties (a free-form map such as `aliases`) stays open.
 */
export function closeSchema(node: Schema): Schema {
  const out: Schema = { ...node };
  if (node.properties) {
    out.properties = Object.fromEntries(Object.entries(node.properties).map(([k, s]) => [k, closeSchema(s)]));
    if (node.additionalProperties === undefined) out.additionalProperties = false;
  }
  if (node.items) out.items = closeSchema(node.items);
  if (node.additionalProperties && typeof node.additionalProperties === "object")
    out.additionalProperties = closeSchema(node.additionalProperties);
  return out;
}

/** The spec with every schema closed (see `closeSchema`), ready for validation. */
export function closedDoc(doc: SwaggerDoc): SwaggerDoc {
  const paths: SwaggerDoc["paths"] = {};
  for (const [p, ops] of Object.entries(doc.paths)) {
    paths[p] = {};
    for (const [m, op] of Object.entries(ops)) {
      paths[p][m] = {
        ...op,
        parameters: op.parameters?.map((x) => (x.schema ? { ...x, schema: closeSchema(x.schema) } : x)),
        responses: Object.fromEntries(
          Object.entries(op.responses ?? {}).map(([s, r]) => [
            s,
            r.schema ? { ...r, schema: closeSchema(r.schema) } : r,
          ]),
        ),
      };
    }
  }
  const definitions = Object.fromEntries(
    Object.entries(doc.definitions).map(([k, s]) => [k, closeSchema(s)]),
  );
  return { ...doc, paths, definitions };
}

function templateRegex(template: string): { re: RegExp; names: string[]; literals: number } {
  const names: string[] = [];
  let literals = 0;
  const parts = template.split("/").map((seg) => {
    const m = /^\{(.+)\}$/.exec(seg);
    if (m) {
      names.push(m[1]!);
      return "([^/]+)";
    }
    if (seg) literals++;
    return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  });
  return { re: new RegExp(`^${parts.join("/")}$`), names, literals };
}

/**
 * The operation a request hits: the path (without the base path) against every template, a literal segment
 * beating a parameter (`/portfolio/accounts` is not `/portfolio/{accountId}`), then the method.
 */
export function findOperation(doc: SwaggerDoc, method: string, path: string): Match | null {
  let best: (Match & { literals: number }) | null = null;
  for (const [template, ops] of Object.entries(doc.paths)) {
    const { re, names, literals } = templateRegex(template);
    const m = re.exec(path);
    if (!m) continue;
    const operation = ops[method.toLowerCase()];
    if (!operation) continue;
    if (best && best.literals >= literals) continue;
    const pathParams = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
    best = { template, method: method.toLowerCase(), operation, pathParams, literals };
  }
  if (!best) return null;
  const { literals: _literals, ...match } = best;
  return match;
}

function resolve(doc: SwaggerDoc, s: Schema): Schema {
  let node = s;
  for (let i = 0; node.$ref && i < 16; i++) {
    const name = node.$ref.replace(/^#\/definitions\//, "");
    const target = doc.definitions[name];
    if (!target) throw new Error(`unresolved $ref ${node.$ref}`);
    node = target;
  }
  return node;
}

function validator(doc: SwaggerDoc, schema: Schema): Validator {
  // The definitions travel with the schema so `#/definitions/…` references resolve against them.
  return new Validator({ ...schema, definitions: doc.definitions } as object, "4", false);
}

function describe(errors: OutputUnit[]): string[] {
  // Leaf errors name the field and the rule; the roll-ups above them only repeat it.
  const leaves = errors.filter((e) => !/^(?:properties|items|\$ref)$/.test(e.keyword));
  return (leaves.length > 0 ? leaves : errors).map((e) => `${e.instanceLocation} ${e.keyword}: ${e.error}`);
}

/** Problems of a value against a schema of this doc (empty when it conforms). */
export function validateAgainst(doc: SwaggerDoc, schema: Schema, value: unknown): string[] {
  const r = validator(doc, schema).validate(value);
  return r.valid ? [] : describe(r.errors);
}

/**
 * The schema a response of `status` must follow. A status the operation does not document gets the spec's
 * generic `system-error` shape (when it has one); a documented status without a schema names no field, so its
 * body may only be empty or `{}`.
 */
export function responseSchema(
  doc: SwaggerDoc,
  match: Match,
  status: number,
): { schema: Schema; documented: boolean } {
  const r = match.operation.responses[String(status)];
  if (r?.schema) return { schema: r.schema, documented: true };
  if (r) return { schema: { type: "object", properties: {}, additionalProperties: false }, documented: true };
  const generic = doc.definitions["system-error"];
  return { schema: generic ?? { type: "object" }, documented: false };
}

/** A request as our client sent it or a test recorded it. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
}

function typeProblem(name: string, type: string | undefined, raw: string): string | null {
  if (type === "integer" && !/^-?\d+$/.test(raw)) return `${name}=${raw} is not an integer`;
  if (type === "number" && !Number.isFinite(Number(raw))) return `${name}=${raw} is not a number`;
  if (type === "boolean" && raw !== "true" && raw !== "false") return `${name}=${raw} is not a boolean`;
  return null;
}

/**
 * Problems of a request against the operation it hits: an undocumented path or method, a path or query
 * parameter of the wrong type, an undocumented or missing query parameter, a body where none is documented or
 * one that does not follow the documented body schema, a JSON body without a JSON content type.
 */
export function checkRequest(
  doc: SwaggerDoc,
  req: RecordedRequest,
): { match: Match | null; problems: string[] } {
  const url = new URL(req.url);
  if (!url.pathname.startsWith(`${doc.basePath}/`))
    return { match: null, problems: [`${url.pathname} is outside the base path ${doc.basePath}`] };
  const path = url.pathname.slice(doc.basePath.length);
  const match = findOperation(doc, req.method, path);
  if (!match) return { match: null, problems: [`${req.method} ${path} is not in the spec`] };
  const problems: string[] = [];
  const params = match.operation.parameters ?? [];
  for (const p of params.filter((x) => x.in === "path")) {
    const raw = match.pathParams[p.name];
    if (raw === undefined) problems.push(`path parameter ${p.name} missing`);
    else {
      const t = typeProblem(p.name, p.type, raw);
      if (t) problems.push(t);
    }
  }
  const query = params.filter((x) => x.in === "query");
  for (const [k, raw] of url.searchParams) {
    const p = query.find((x) => x.name === k);
    if (!p) {
      problems.push(`query parameter ${k} is not documented`);
      continue;
    }
    const t = typeProblem(k, p.type, raw);
    if (t) problems.push(t);
    if (p.enum && !p.enum.includes(raw)) problems.push(`${k}=${raw} is not one of ${p.enum.join(", ")}`);
  }
  for (const p of query) if (p.required && !url.searchParams.has(p.name)) problems.push(`${p.name} missing`);
  const bodyParam = params.find((x) => x.in === "body");
  if (req.body !== null && req.body !== "") {
    if (!bodyParam) problems.push(`${req.method} ${match.template} documents no body`);
    else {
      const type = Object.entries(req.headers).find(([k]) => k.toLowerCase() === "content-type")?.[1];
      if (!type || !/^application\/json\b/i.test(type))
        problems.push(`a JSON body needs content-type application/json, got ${type ?? "none"}`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(req.body);
      } catch {
        problems.push("the body is not JSON");
      }
      if (parsed !== undefined && bodyParam.schema)
        problems.push(...validateAgainst(doc, bodyParam.schema, parsed).map((e) => `body ${e}`));
    }
  } else if (bodyParam?.required) {
    problems.push(`${req.method} ${match.template} requires a body`);
  }
  return { match, problems };
}

/**
 * A value built from a schema. `full` fills every property the spec names (one item per array); `minimal`
 * fills only what the spec marks required, so every optional field is absent. A top-level array keeps one
 * (minimal) item, so a parser meets a row with nothing in it.
 */
export function sample(doc: SwaggerDoc, schema: Schema, mode: "full" | "minimal"): unknown {
  const s = resolve(doc, schema);
  if (s.enum && s.enum.length > 0) return s.enum[0];
  switch (s.type) {
    case "array":
      return s.items ? [sample(doc, s.items, mode)] : [];
    case "string":
      return "sample";
    case "integer":
      return 1;
    case "number":
      return 1.5;
    case "boolean":
      return true;
    default: {
      if (!s.properties) return {};
      const keep = mode === "full" ? Object.keys(s.properties) : (s.required ?? []);
      return Object.fromEntries(keep.map((k) => [k, sample(doc, s.properties![k]!, mode)]));
    }
  }
}

/** Whether the spec names the field at `path` (property names, `[]` for an array's items) in `schema`. */
export function specHasField(doc: SwaggerDoc, schema: Schema, path: readonly string[]): boolean {
  let node: Schema | undefined = schema;
  for (const step of path) {
    if (!node) return false;
    node = resolve(doc, node);
    node = step === "[]" ? node.items : node.properties?.[step];
  }
  return node !== undefined;
}
