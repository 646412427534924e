import { type JsonSchema, toJsonSchema } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { OPERATIONS, type Operation } from "./operations";

export { OPERATIONS, type Operation } from "./operations";

/** itty-router's `:name` to OpenAPI's `{name}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

function schemaOf(schema: v.GenericSchema): JsonSchema {
  // Checks JSON Schema cannot say (free-text screening, unique ids) are left out, not guessed: the server still
  // applies them and answers 400 naming the field.
  const { $schema: _, ...rest } = toJsonSchema(schema, { target: "draft-2020-12", errorMode: "ignore" });
  return rest;
}

const ERROR = { $ref: "#/components/responses/Error" };

function operationObject(o: Operation) {
  const params = [...openApiPath(o.path).matchAll(/\{([^}]+)\}/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
  const query = Object.entries(o.query ?? {}).map(([name, q]) => ({
    name,
    in: "query",
    required: false,
    description: q.description,
    schema: schemaOf(q.schema),
  }));
  const ok = String(o.status ?? 200);
  const produces = o.produces ?? "application/json";
  return {
    operationId: `${o.method}${openApiPath(o.path).replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string) => (c ?? "").toUpperCase())}`,
    summary: o.summary,
    tags: [o.tag],
    ...(o.public ? { security: [] } : o.person ? { security: [{ accessJwt: [] }] } : {}),
    ...(o.person ? { "x-paulp-person": true } : {}),
    ...(o.twoPerson ? { "x-paulp-two-person-action": o.twoPerson } : {}),
    ...(params.length + query.length > 0 ? { parameters: [...params, ...query] } : {}),
    ...(o.body
      ? {
          requestBody: {
            required: !o.bodyOptional,
            content: { "application/json": { schema: schemaOf(o.body) } },
          },
        }
      : {}),
    responses: {
      [ok]: {
        description: "done",
        content: { [produces]: { schema: o.response ? schemaOf(o.response) : {} } },
      },
      ...(o.twoPerson
        ? { "403": { description: `approval_required: request ${o.twoPerson} at POST /admin/approvals` } }
        : {}),
      default: ERROR,
    },
  };
}

/** The OpenAPI 3.1 document of the gateway, built once per isolate from `OPERATIONS`. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const o of OPERATIONS) {
    const path = openApiPath(o.path);
    paths[path] = { ...paths[path], [o.method]: operationObject(o) };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Paul P admin API",
      version: "1",
      description:
        "The gateway of the Paul P trading mesh (docs/admin-api.md). Every /admin route needs the bearer token or a Cloudflare Access JWT; routes marked x-paulp-person need a person verified by Access. Errors are { error: { code, message, details? } }.",
    },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }, { accessJwt: [] }],
    tags: ["gateway", "audit", "risk", "ingestion", "governance", "execution"].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN" },
        accessJwt: { type: "apiKey", in: "header", name: "Cf-Access-Jwt-Assertion" },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message"],
              properties: { code: { type: "string" }, message: { type: "string" }, details: {} },
            },
          },
        },
      },
      responses: {
        Error: {
          description: "an error envelope",
          content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
        },
      },
    },
  };
}
