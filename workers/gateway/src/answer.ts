import type { Result } from "@paulp/contracts";
import { type ContractOf, type RpcTarget, resultResponse, rpc } from "@paulp/kit";

/**
 * A route's answer from one call to another worker: made through `rpc()` (a throw or a non-answer is a failed
 * result, never a success) and named `what`; its result is the response (`status` on success, else the error's).
 */
export async function answer<B extends RpcTarget, R>(
  target: B,
  call: (worker: ContractOf<B>) => Promise<Result<R>>,
  what: string,
  status?: number,
): Promise<Response> {
  return resultResponse(await rpc(target, call, { what }), status);
}
