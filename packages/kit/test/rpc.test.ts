import { env } from "cloudflare:workers";
import type { Bound, Result } from "@paulp/contracts";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { HttpError } from "../src/http";
import { rpc, serve } from "../src/rpc";

interface EchoRpc {
  echo(text: string): Promise<Result<string>>;
}

/** A binding double: what `env.ECHO` is at run time is only an object with the contract's methods. */
function binding(echo: EchoRpc["echo"]): Bound<EchoRpc> {
  return { echo } as unknown as Bound<EchoRpc>;
}

describe("rpc(): one boundary to a binding", () => {
  it("passes a result through unchanged, success or refusal", async () => {
    const ok = binding(async (text) => ({ ok: true, value: text }));
    expect(await rpc(ok, (b) => b.echo("hi"), { what: "echo" })).toEqual({ ok: true, value: "hi" });
    const refused = binding(async () => ({ ok: false, error: { code: "conflict", message: "no" } }));
    expect(await rpc(refused, (b) => b.echo("hi"), { what: "echo" })).toEqual({
      ok: false,
      error: { code: "conflict", message: "no" },
    });
  });

  it("a throw is a failed result naming the call, service_unavailable unless told otherwise", async () => {
    const down = binding(async () => Promise.reject(new Error("binding unavailable")));
    expect(await rpc(down, (b) => b.echo("x"), { what: "echo.echo" })).toEqual({
      ok: false,
      error: { code: "service_unavailable", message: "echo.echo failed: binding unavailable" },
    });
    expect(await rpc(down, (b) => b.echo("x"), { what: "apply", code: "upstream_error" })).toMatchObject({
      ok: false,
      error: { code: "upstream_error" },
    });
  });

  it("hides the cause when asked (a provider's internals stay inside)", async () => {
    const r = await rpc(async () => Promise.reject(new Error("SQLITE: secret detail")), {
      what: "listPairs",
      code: "internal_error",
      hideCause: true,
    });
    expect(r).toEqual({ ok: false, error: { code: "internal_error", message: "listPairs failed" } });
  });

  it("a call that never answers times out as a failed result", async () => {
    const never = binding(() => new Promise<Result<string>>(() => {}));
    const r = await rpc(never, (b) => b.echo("x"), { what: "echo", timeoutMs: 1 });
    expect(r).toMatchObject({ ok: false, error: { code: "service_unavailable" } });
    expect(!r.ok && r.error.message).toMatch(/timed out after 1 ms/);
  });

  it("an answer that is not a Result is no answer: upstream_error, never a success", async () => {
    const silent = binding(async () => undefined as unknown as Result<string>);
    expect(await rpc(silent, (b) => b.echo("x"), { what: "echo" })).toMatchObject({
      ok: false,
      error: { code: "upstream_error", message: "echo answered with no result" },
    });
  });

  it("a handler's own HttpError goes on up (it is an answer, not a failed call)", async () => {
    const ok = binding(async (text) => ({ ok: true, value: text }));
    const bad = () => {
      throw new HttpError(400, "validation_failed", "id: invalid");
    };
    await expect(rpc(ok, (b) => b.echo(bad()), { what: "echo" })).rejects.toBeInstanceOf(HttpError);
  });
});

describe("rpc(): an answer goes on with nothing to dispose", () => {
  // workerd's own symbol (the ES2023 lib the mesh compiles against does not declare it).
  const DISPOSE = (Symbol as { dispose?: symbol }).dispose ?? Symbol("absent");

  it("a real binding's answer is released and copied without the disposer workerd put on it", async () => {
    // The premise: workerd gives the object an RPC call returns a hidden disposer. An entrypoint answering that
    // object on as it came would make its caller owe a dispose() (workerd: "An RPC result was not disposed").
    const raw = await env.LEAF.answer("hi");
    expect(Object.hasOwn(raw, DISPOSE)).toBe(true);
    Reflect.get(raw, DISPOSE).call(raw);

    const r = await rpc(env.LEAF, (leaf) => leaf.answer("hi"), { what: "answer" });
    expect(r).toEqual({ ok: true, value: { text: "hi", at: [1, 2] } });
    expect(Object.getOwnPropertySymbols(r)).toEqual([]);
  });

  it("the disposer is called once, for a success and a refusal alike; a plain answer is left as it is", async () => {
    for (const answer of [
      { ok: true, value: "hi" },
      { ok: false, error: { code: "conflict", message: "no" } },
    ] as const) {
      let disposed = 0;
      const carried = Object.defineProperty({ ...answer }, DISPOSE, {
        value: () => {
          disposed++;
        },
        enumerable: false,
        configurable: true,
      }) as Result<string>;
      const r = await rpc(
        binding(async () => carried),
        (b) => b.echo("hi"),
        { what: "echo" },
      );
      expect(disposed).toBe(1);
      expect(r).toEqual(answer);
      expect(Object.hasOwn(r, DISPOSE)).toBe(false);
    }
    const plain: Result<string> = { ok: true, value: "hi" };
    expect(
      await rpc(
        binding(async () => plain),
        (b) => b.echo("hi"),
        { what: "echo" },
      ),
    ).toBe(plain);
  });
});

describe("serve(): an entrypoint method's arguments, then its work", () => {
  const Args = [v.pipe(v.string(), v.minLength(1)), v.number()] as const;

  it("runs the work on the parsed arguments, in order", async () => {
    const seen: unknown[] = [];
    const r = await serve({ what: "echo" }, Args, ["a", 2], async (text, n) => {
      seen.push(text, n);
      return { ok: true, value: `${text}${n}` };
    });
    expect(r).toEqual({ ok: true, value: "a2" });
    expect(seen).toEqual(["a", 2]);
  });

  it("a bad argument is the answer and the work never runs", async () => {
    let ran = false;
    const work = async () => {
      ran = true;
      return { ok: true as const, value: "" };
    };
    expect(await serve({ what: "echo" }, Args, ["a", "2"], work)).toMatchObject({
      ok: false,
      error: { code: "validation_failed" },
    });
    expect(await serve({ what: "echo" }, Args, ["", 2], work)).toMatchObject({ ok: false });
    expect(ran).toBe(false);
  });

  it("a throw in the work is a failed result, as rpc() makes it", async () => {
    const r = await serve({ what: "echo", code: "internal_error" }, Args, ["a", 1], async () =>
      Promise.reject(new Error("boom")),
    );
    expect(r).toEqual({ ok: false, error: { code: "internal_error", message: "echo failed: boom" } });
  });
});
