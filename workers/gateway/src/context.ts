import type { Principal } from "@paulp/contracts";
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
