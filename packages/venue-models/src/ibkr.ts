import raw from "../official/ibkr-client-portal-openapi.json";
import {
  checkRequest,
  closedDoc,
  findOperation,
  type Match,
  parseSwaggerDoc,
  type RecordedRequest,
  responseSchema,
  type Schema,
  type SwaggerDoc,
  validateAgainst,
} from "./swagger";

/**
 * IBKR's Client Portal Web API description (Swagger 2.0, "Client Portal Web API" 1.0.0), vendored unchanged
 * from the team's reference copy (official/README.md has its origin and digest). Every schema is closed, so a
 * response or request carrying a field the spec does not name is a conformance failure.
 */
export const ibkrSpec: SwaggerDoc = closedDoc(parseSwaggerDoc(raw));

/** The spec exactly as published (open schemas), for fixtures and field look-ups. */
export const ibkrSpecAsPublished: SwaggerDoc = parseSwaggerDoc(raw);

/** The operation a request to the gateway's `/v1/api/...` URL hits, or null. */
export function ibkrOperation(method: string, url: string): Match | null {
  const path = new URL(url).pathname;
  if (!path.startsWith(`${ibkrSpec.basePath}/`)) return null;
  return findOperation(ibkrSpec, method, path.slice(ibkrSpec.basePath.length));
}

/** Problems of a response body the gateway (or its double) served for `method url` with `status`. */
export function checkIbkrResponse(method: string, url: string, status: number, body: unknown): string[] {
  const match = ibkrOperation(method, url);
  if (!match) return [`${method} ${new URL(url).pathname} is not in the spec`];
  const { schema } = responseSchema(ibkrSpec, match, status);
  return validateAgainst(ibkrSpec, schema, body).map((e) => `${match.template} ${status}: ${e}`);
}

/** Problems of a request our client sent (path, method, query, body) against the spec. */
export function checkIbkrRequest(req: RecordedRequest): { match: Match | null; problems: string[] } {
  return checkRequest(ibkrSpec, req);
}

/** The documented schema of `method template` answering `status` (as published), for fixtures. */
export function ibkrResponseSchema(method: string, template: string, status = 200): Schema {
  const op = ibkrSpecAsPublished.paths[template]?.[method.toLowerCase()];
  const schema = op?.responses[String(status)]?.schema;
  if (!schema) throw new Error(`the spec documents no ${status} body for ${method} ${template}`);
  return schema;
}
