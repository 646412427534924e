import { ErrorCode, err, type Principal, type Result } from "@paulp/contracts";
import { type ContractOf, type RpcTarget, readJsonBody, resultResponse, rpc, withTimeout } from "@paulp/kit";
import * as v from "valibot";
import { type GatewayRequest, principalOf, requirePerson } from "./context";
import type { Env } from "./env";

/**
 * How long an admin route waits for the peer it calls (unless the route must see the outcome, below). A healthy
 * peer answers an admin call in well under a second, and the slowest bounded calls (a D1 write with its audit
 * append) in a few; 15 s is far past that, yet short enough that an operator at the console (which refreshes every
 * 10 s) learns of a hung peer from a JSON 504 naming it instead of a spinner that never ends.
 */
export const PEER_TIMEOUT_MS = 15_000;

/** ADMIN_PEER_TIMEOUT_MS: a whole number of ms; unset in every deployed config (tests shorten it). */
const PeerTimeoutVar = v.pipe(v.string(), v.transform(Number), v.integer(), v.minValue(1));

/** The bound in force: PEER_TIMEOUT_MS, or ADMIN_PEER_TIMEOUT_MS where set (a malformed value keeps the default). */
export function peerTimeoutMs(env: Env): number {
  if (env.ADMIN_PEER_TIMEOUT_MS === undefined) return PEER_TIMEOUT_MS;
  const parsed = v.safeParse(PeerTimeoutVar, env.ADMIN_PEER_TIMEOUT_MS);
  if (parsed.success) return parsed.output;
  console.warn(
    `ADMIN_PEER_TIMEOUT_MS ${JSON.stringify(env.ADMIN_PEER_TIMEOUT_MS)} is not a whole number of ms`,
  );
  return PEER_TIMEOUT_MS;
}

/** The bindings that are peers (workers reached over RPC). */
export type Peer = { [K in keyof Env]-?: NonNullable<Env[K]> extends RpcTarget ? K : never }[keyof Env];

/**
 * How long a route waits for its peer and what running out means. A `"read"` (the default) is bounded and changed
 * nothing. A write (`{ check }`) is bounded too, but one that times out may have taken effect, or may still: its
 * outcome is unknown, never a failure, and the answer names where to look (`check`, a route or the audit). A call
 * whose outcome the caller must see however long it takes (an order in flight, a two-person apply spending its
 * receipt, long work bounded by the peer's own timeouts) is `"until answered"`.
 */
export type Wait = "read" | { check: string } | "until answered";

/** The failed result of a call that did not answer within `timeoutMs`: 504 `upstream_timeout`, saying what is known. */
export function timedOut<R>(
  what: string,
  wait: Exclude<Wait, "until answered">,
  timeoutMs: number,
): Result<R> {
  const within = `${what} did not answer within ${timeoutMs} ms`;
  if (wait === "read") return err(ErrorCode.upstreamTimeout, within);
  return err(
    ErrorCode.upstreamTimeout,
    `${within}: the outcome is unknown (it may have taken effect, or may still): check ${wait.check} before trying again`,
    { outcome: "unknown", check: wait.check },
  );
}

/** One call to a peer: `env[peer]`, the call, its name in a failure's message, and how long to wait (a read). */
export type PeerCall<K extends Peer, R> = [
  env: Env,
  peer: K,
  call: (worker: ContractOf<Env[K]>) => Promise<Result<R>>,
  what: string,
  wait?: Wait,
];

/**
 * One call to a peer through `rpc()` (a throw or a non-answer is a failed result, never a success), waiting as
 * `wait` says. The bound is raced here rather than given to `rpc()`, which maps a timeout to the same code as a
 * throw: a timeout is `upstream_timeout` (504), a peer that threw stays `service_unavailable` (503).
 */
export async function ask<K extends Peer, R>(
  ...[env, peer, call, what, wait = "read"]: PeerCall<K, R>
): Promise<Result<R>> {
  const called = rpc(env[peer], call, { what });
  if (wait === "until answered") return called;
  const timeoutMs = peerTimeoutMs(env);
  try {
    return await withTimeout(called, timeoutMs, what);
  } catch (error) {
    if ((error as Error)?.name === "TimeoutError") return timedOut(what, wait, timeoutMs);
    throw error;
  }
}

/** A route's answer from one call to a peer (`ask`): 200 with the value, else the error's status and envelope. */
export async function answer<K extends Peer, R>(...call: PeerCall<K, R>): Promise<Response> {
  return resultResponse(await ask(...call));
}

/** How a body route reads its request, waits for its peer and answers. */
export interface BodyCall {
  /** How long to wait (`Wait`): a write names its `check`. */
  wait: Wait;
  /** Bytes the body may take (readJsonBody's 256 KB unless given). */
  maxBytes?: number;
  /** Only a verified person may call it (refused 403 before the body is read); says what for. */
  person?: string;
  /** The success status (200 unless given). */
  status?: number;
}

/**
 * A route whose answer is one call to `peer` made from the request's body (checked against `schema`: 413/400 before
 * any call) and its actor (a verified person first, when `how.person` says so: 403 before anything is read).
 */
export function bodyCall<K extends Peer, const S extends v.GenericSchema, R>(
  peer: K,
  schema: S,
  call: (
    worker: ContractOf<Env[K]>,
    body: v.InferOutput<S>,
    actor: Principal,
    request: GatewayRequest,
  ) => Promise<Result<R>>,
  how: BodyCall & { what: string },
): (request: GatewayRequest, env: Env) => Promise<Response> {
  return async (request, env) => {
    const actor = how.person ? requirePerson(request, how.person) : principalOf(request);
    const body = await readJsonBody(request, schema, how.maxBytes);
    const called = await ask(env, peer, (worker) => call(worker, body, actor, request), how.what, how.wait);
    return resultResponse(called, how.status);
  };
}

/** The methods of contract `C` that take a body of type `B` and the actor, in that order. */
export type BodyMethod<C, B> = {
  [M in keyof C]: C[M] extends (body: B, actor: Principal) => Promise<Result<unknown>> ? M : never;
}[keyof C] &
  string;

/**
 * The commonest admin write: `bodyCall` of `<peer>.<method>(body, actor)`, named `"<peer>.<method>"`
 * (`"risk.updateLimits"`) in a failure's message.
 */
export function bodyMethod<K extends Peer, const S extends v.GenericSchema>(
  peer: K,
  method: BodyMethod<ContractOf<Env[K]>, v.InferOutput<S>>,
  schema: S,
  how: BodyCall,
): (request: GatewayRequest, env: Env) => Promise<Response> {
  const send = (worker: ContractOf<Env[K]>, body: v.InferOutput<S>, actor: Principal) =>
    callByName(worker, method, [body, actor]);
  return bodyCall(peer, schema, send, { ...how, what: callName(peer, method) });
}

/** A call's name in a failure's message, `"<peer>.<method>"` (`"risk.getBreaker"`): one form for every route. */
function callName(peer: Peer, method: string): string {
  return `${peer.toLowerCase()}.${method}`;
}

/**
 * Call a contract's method named by a route. The name's type (`BodyMethod`, `ReadMethod`) checked where the route
 * was registered that the method takes these arguments and answers a `Result`; TypeScript cannot carry that from a
 * name to a call, so the call is made by name here, in one place.
 */
function callByName(worker: object, method: string, args: unknown[]): Promise<Result<unknown>> {
  return Reflect.apply(Reflect.get(worker, method), worker, args) as Promise<Result<unknown>>;
}

/** The methods of contract `C` that answer a `Result`, whatever they take. */
export type ResultMethod<C> = {
  [M in keyof C]: C[M] extends (...args: never[]) => Promise<Result<unknown>> ? M : never;
}[keyof C] &
  string;

/** What method `M` of contract `C` takes. */
type ArgumentsOf<C, M extends keyof C> = C[M] extends (...args: infer A) => unknown ? A : never;

/**
 * How a method route waits (`Wait`, always said: a write that times out must name where to check, never read as a
 * plain failure) and, for a method that takes arguments, how the request gives them (a query, a path parameter, the
 * actor; may throw the request's 400 before any call).
 */
export type MethodRouteHow<A extends unknown[]> = A extends []
  ? { wait: Wait }
  : { args: (request: GatewayRequest) => A; wait: Wait };

/**
 * A route whose answer is one call `<peer>.<method>(...args)`, named `"<peer>.<method>"` (`"risk.getBreaker"`) in a
 * failure's message, as `bodyMethod` names its calls. Its arguments are checked against the contract where the route
 * is registered.
 */
export function methodRoute<K extends Peer, M extends ResultMethod<ContractOf<Env[K]>>>(
  peer: K,
  method: M,
  how: MethodRouteHow<ArgumentsOf<ContractOf<Env[K]>, M>>,
): (request: GatewayRequest, env: Env) => Promise<Response> {
  const what = callName(peer, method);
  const readArgs = "args" in how ? how.args : () => [];
  return async (request, env) => {
    const args: unknown[] = readArgs(request);
    return answer(env, peer, (worker) => callByName(worker, method, args), what, how.wait);
  };
}

/** The methods of contract `C` that take nothing and answer a `Result`: a setting's read. */
export type ReadMethod<C> = {
  [M in keyof C]: C[M] extends () => Promise<Result<unknown>> ? M : never;
}[keyof C] &
  string;

/** The router's registration methods a setting needs (the gateway's itty-router). */
interface SettingRouter {
  get(path: string, handler: (request: GatewayRequest, env: Env) => Promise<Response>): unknown;
  put(path: string, handler: (request: GatewayRequest, env: Env) => Promise<Response>): unknown;
}

/**
 * A setting read and replaced at one path: `GET` answers `<peer>.<read>()`, `PUT` is `bodyMethod` of
 * `<peer>.<change>(body, actor)`, and a change that times out names that `GET` as where to read what came of it
 * (the check cannot drift from the path). Failures are named `"<peer>.<method>"` as everywhere else.
 */
export function settingRoutes<K extends Peer, const S extends v.GenericSchema>(
  router: SettingRouter,
  path: string,
  peer: K,
  methods: { read: ReadMethod<ContractOf<Env[K]>>; change: BodyMethod<ContractOf<Env[K]>, v.InferOutput<S>> },
  schema: S,
  how: Omit<BodyCall, "wait"> = {},
): void {
  router.get(path, async (_request, env) =>
    answer(env, peer, (worker) => callByName(worker, methods.read, []), callName(peer, methods.read)),
  );
  router.put(path, bodyMethod(peer, methods.change, schema, { ...how, wait: { check: `GET ${path}` } }));
}
