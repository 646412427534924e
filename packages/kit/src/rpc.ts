import { type Bound, type ErrorCode as Code, ErrorCode, err, type Result } from "@paulp/contracts";
import type * as v from "valibot";
import { HttpError, type ParsedArgs, parseArgs } from "./http";
import { withTimeout } from "./timeout";

/** How one call across a binding (or a provider's own work) is bounded and how its failure reads. */
export interface RpcOptions {
  /** Names the call in the failure's message (`"<what> failed: …"`) and in the timeout. */
  what: string;
  /** Bound in ms. None where the caller must see the outcome however long it takes (an order in flight). */
  timeoutMs?: number;
  /** The code a throw or timeout becomes: `service_unavailable` unless the caller says otherwise. */
  code?: Code;
  /** Log the error and answer `"<what> failed"` alone: for a provider whose internals must not leak out. */
  hideCause?: boolean;
}

/** A service binding (`Bound<C>` in packages/contracts) or a Durable Object stub. */
export type RpcTarget = Bound<unknown> | DurableObjectStub<Rpc.DurableObjectBranded>;

/** The contract a target was typed from: a binding's `C`, a Durable Object stub's class. */
export type ContractOf<B> = B extends { readonly "~contract"?: infer C }
  ? NonNullable<C>
  : B extends DurableObjectStub<infer D>
    ? D
    : never;

/**
 * The one typed boundary to another worker or a Durable Object: the call, its timeout, and every throw
 * (binding down, Durable Object reset, timeout) as a failed `Result`, so nothing throws across a binding.
 *
 * `rpc(env.RISK, (risk) => risk.getBreaker(), { what: "getBreaker", timeoutMs: 5_000 })` calls a binding;
 * `rpc(() => work(), { what })` guards a provider's own work the same way.
 */
export function rpc<B extends RpcTarget, R>(
  target: B,
  call: (contract: ContractOf<B>) => Promise<Result<R>>,
  options: RpcOptions,
): Promise<Result<R>>;
export function rpc<R>(call: () => Promise<Result<R>>, options: RpcOptions): Promise<Result<R>>;
export async function rpc<B extends RpcTarget, R>(
  ...args:
    | [B, (contract: ContractOf<B>) => Promise<Result<R>>, RpcOptions]
    | [() => Promise<Result<R>>, RpcOptions]
): Promise<Result<R>> {
  const [work, options] =
    args.length === 3
      ? // The single cast of the mesh, and why: workers-types maps every method of a binding or stub through
        // `Rpc.Provider`, which rewrites `Promise<Result<X>>` into nested stub types the checker cannot relate
        // back to `Result<X>` (or gives up on as too deep). What arrives is the structured clone of the
        // contract's plain data, so the target is seen through the contract both sides are typed from.
        [() => args[1](args[0] as unknown as ContractOf<B>), args[2]]
      : args;
  try {
    const pending = work();
    const answer = await (options.timeoutMs === undefined
      ? pending
      : withTimeout(pending, options.timeoutMs, options.what));
    // An answer that is not a Result (a provider out of step with its contract) is no answer: fail closed.
    if (typeof answer?.ok !== "boolean")
      return err(ErrorCode.upstreamError, `${options.what} answered with no result`);
    return released(answer);
  } catch (error) {
    // A handler's own HTTP answer (a 400 from parsing an argument) is not a failed call: it goes on up.
    if (error instanceof HttpError) throw error;
    const code = options.code ?? ErrorCode.serviceUnavailable;
    if (options.hideCause) {
      console.error(`${options.what} failed`, (error as Error)?.message ?? error);
      return err(code, `${options.what} failed`);
    }
    return err(code, `${options.what} failed: ${(error as Error)?.message ?? String(error)}`);
  }
}

/** `Symbol.dispose` (workerd has it; the ES2023 lib the mesh compiles against does not declare it). */
const DISPOSE = (Symbol as { dispose?: symbol }).dispose;

/**
 * An answer as plain data with nothing to dispose. workerd gives every object an RPC call returns a hidden
 * `[Symbol.dispose]` (it releases the call); an entrypoint that answered that object on, as it came, would make
 * workerd treat its own answer as one with a disposer: its caller then holds the call open until it disposes
 * the answer, which no caller does (contracts are plain data), and workerd warns "An RPC result was not
 * disposed properly" when the answer is garbage collected. So the call is released here, once its answer is
 * read, and the answer goes on as a copy without the disposer (the top level is the only place workerd puts it).
 */
function released<R>(answer: Result<R>): Result<R> {
  if (DISPOSE === undefined || !Object.hasOwn(answer, DISPOSE)) return answer;
  const dispose: unknown = Reflect.get(answer, DISPOSE);
  if (typeof dispose === "function") dispose.call(answer);
  return { ...answer };
}

/**
 * An entrypoint method's whole body: its arguments checked one schema a position (`parseArgs`: the first failure is
 * the answer), then `work` on what they parsed to, guarded as `rpc` guards a provider's own work.
 *
 * `serve({ what: "listOrders" }, [OrderQuery], [query ?? {}], (q) => manager.listOrders(q))`.
 */
export function serve<const S extends readonly v.GenericSchema[], R>(
  options: RpcOptions,
  schemas: S,
  args: { [K in keyof S]: unknown },
  work: (...parsed: ParsedArgs<S>) => Promise<Result<R>>,
): Promise<Result<R>> {
  const input = parseArgs(schemas, args);
  if (!input.ok) return Promise.resolve(input);
  return rpc(() => work(...input.value), options);
}
