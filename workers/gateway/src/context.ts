import { ErrorCode, isPerson, type Principal } from "@paulp/contracts";
import { HttpError } from "@paulp/kit";
import type { IRequest } from "itty-router";
import type { Env } from "./env";

/** A request after the gateway's `before` middleware: it always has a request id, and a principal on /admin. */
export type GatewayRequest = IRequest & {
  requestId: string;
  principal?: Principal;
  /** Set when a failed authentication was answered 429, by which limit (its audit record is sampled). */
  authRateLimited?: "client" | "all";
};

/** The extra arguments every handler receives. */
export type GatewayArgs = [Env, ExecutionContext];

/** The principal of an authenticated admin request (the auth middleware guarantees it under /admin). */
export function principalOf(request: GatewayRequest): Principal {
  if (!request.principal) throw new Error("principal missing: route registered outside /admin");
  return request.principal;
}

/** The arguments of a contract method that takes only who acted (`methodRoute`'s `args`). */
export function actorOnly(request: GatewayRequest): [actor: Principal] {
  return [principalOf(request)];
}

/** The principal, when it is a verified person; the shared token is refused 403 (`what`: what it cannot do). */
export function requirePerson(request: GatewayRequest, what: string): Principal {
  const principal = principalOf(request);
  if (!isPerson(principal)) {
    throw new HttpError(
      403,
      ErrorCode.forbidden,
      `only a verified person (Cloudflare Access) can ${what}; the admin token cannot`,
    );
  }
  return principal;
}
