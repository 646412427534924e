// A peer failing on cue, which the real workers cannot be made to do: the gateway's real router over the test's
// environment with one binding replaced by a stand-in whose methods all fail the same way.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Env } from "../src/env";
import { buildRouter } from "../src/router";

/**
 * How the stand-in fails: `throws` rejects with a plain Error (a binding that is down; not an error workerd marks
 * `remote`, which the router's own catch would have mapped anyway); `answers nothing` answers undefined (a peer
 * out of step with its contract); `never answers` returns a promise that never settles (a hung peer).
 */
export type PeerFailure = "throws" | "answers nothing" | "never answers";

/** A stand-in for a binding whose every one of `methods` fails as `how` says. */
export function failingPeer(
  methods: readonly string[],
  how: PeerFailure,
): Record<string, () => Promise<unknown>> {
  const fail = async () => {
    if (how === "throws") throw new Error("peer down");
    if (how === "never answers") return new Promise<never>(() => {});
    return undefined;
  };
  return Object.fromEntries(methods.map((m) => [m, fail]));
}

/** A request with the admin token through the real router over `env` with `bindings` replaced; waitUntil awaited. */
export async function adminFetchOver(
  bindings: Partial<Record<keyof Env, unknown>>,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${env.ADMIN_TOKEN}`);
  const ctx = createExecutionContext();
  const res = await buildRouter().fetch(
    new Request(`https://gw.test${path}`, { ...init, headers }),
    { ...env, ...bindings } as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

/**
 * The answer every route gives for a failed call (`rpc()`): a peer that throws is 503 `service_unavailable`
 * naming the call, one that answers no result 502 `upstream_error`; JSON, never the gateway's own 500.
 */
export async function expectMappedFailure(
  res: Response,
  how: Exclude<PeerFailure, "never answers">,
  what: string,
): Promise<void> {
  const status = how === "throws" ? 503 : 502;
  expect(res.status, what).toBe(status);
  expect(res.headers.get("content-type"), what).toMatch(/^application\/json/);
  const { error } = (await res.json()) as { error: { code: string; message: string } };
  expect(error.code, what).toBe(how === "throws" ? "service_unavailable" : "upstream_error");
  expect(error.message, what).toBe(
    how === "throws" ? `${what} failed: peer down` : `${what} answered with no result`,
  );
}
