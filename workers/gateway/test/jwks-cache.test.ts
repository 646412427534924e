import { errors, exportJWK, generateKeyPair, type JSONWebKeySet } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  JWKS_FAILURE_COOLDOWN_MAX_MS,
  JWKS_FAILURE_COOLDOWN_MS,
  JWKS_FRESH_MS,
  JWKS_MAX_STALE_MS,
  JWKS_UNKNOWN_KID_REFETCH_MS,
  JwksCache,
  JwksUnavailable,
} from "../src/auth/jwks-cache";

/** A promise the test settles itself. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * A JWKS double whose every answer the test controls: each fetch and each deadline is a pending promise the
 * test settles, and the clock moves only when the test moves it.
 */
function double() {
  const fetches: ReturnType<typeof deferred<unknown>>[] = [];
  const deadlines: ReturnType<typeof deferred<void>>[] = [];
  let clock = 1_000_000;
  const cache = new JwksCache({
    fetchJwks: () => {
      const d = deferred<unknown>();
      fetches.push(d);
      return d.promise;
    },
    now: () => clock,
    after: () => {
      const d = deferred<void>();
      deadlines.push(d);
      return d.promise;
    },
  });
  return {
    cache,
    fetches,
    deadlines,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

/** Let every settled promise run its continuations (no time passes). */
const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

const header = (kid: string) => ({ alg: "RS256", kid });

/** A request for `kid` that starts the double's next fetch, answered with `keys`: the key it resolves to. */
async function answered(d: ReturnType<typeof double>, kid: string, keys: JSONWebKeySet) {
  const before = d.fetches.length;
  const pending = d.cache.getKey(header(kid), token);
  await settle();
  expect(d.fetches).toHaveLength(before + 1);
  d.fetches[before]!.resolve(keys);
  return pending;
}
const token = { payload: "", signature: "" };
let keysA: JSONWebKeySet;
let keysAB: JSONWebKeySet;

beforeAll(async () => {
  const jwk = async (kid: string) => ({
    ...(await exportJWK((await generateKeyPair("RS256", { extractable: true })).publicKey)),
    kid,
    alg: "RS256",
  });
  const [a, b] = await Promise.all([jwk("a"), jwk("b")]);
  keysA = { keys: [a] };
  keysAB = { keys: [a, b] };
});

describe("JWKS cache", () => {
  it("shares one fetch between concurrent requests, unknown kids included", async () => {
    const d = double();
    const waiting = ["a", "b", "a", "b", "a"].map((kid) => d.cache.getKey(header(kid), token));
    await settle();
    expect(d.fetches).toHaveLength(1);
    d.fetches[0]!.resolve(keysAB);
    const keys = await Promise.all(waiting);
    expect(keys.every((k) => k !== undefined)).toBe(true);
    // Held keys answer without asking again.
    await d.cache.getKey(header("a"), token);
    expect(d.cache.fetches).toBe(1);
  });

  it("after a failure refuses at once, fetching nothing, until the cooldown has passed", async () => {
    const d = double();
    const first = d.cache.getKey(header("a"), token);
    await settle();
    d.fetches[0]!.reject(new Error("502"));
    await expect(first).rejects.toThrow("502");

    await expect(d.cache.getKey(header("a"), token)).rejects.toThrow(JwksUnavailable);
    d.advance(JWKS_FAILURE_COOLDOWN_MS - 1);
    await expect(d.cache.getKey(header("a"), token)).rejects.toThrow(/not retried for 1 s/);
    expect(d.fetches).toHaveLength(1);

    d.advance(1);
    await expect(answered(d, "a", keysA)).resolves.toBeDefined();
  });

  it("bounds the cooldown: it doubles with failures in a row, up to the maximum", async () => {
    const d = double();
    const seconds = [5, 10, 20, 40, 60, 60];
    expect(seconds[0]! * 1000).toBe(JWKS_FAILURE_COOLDOWN_MS);
    expect(seconds.at(-1)! * 1000).toBe(JWKS_FAILURE_COOLDOWN_MAX_MS);
    for (const cooldown of seconds.map((s) => s * 1000)) {
      const attempt = d.cache.getKey(header("a"), token);
      await settle();
      d.fetches.at(-1)!.reject(new Error("down"));
      await expect(attempt).rejects.toThrow("down");
      const fetched = d.fetches.length;
      d.advance(cooldown - 1);
      await expect(d.cache.getKey(header("a"), token)).rejects.toThrow(/not retried for 1 s/);
      expect(d.fetches).toHaveLength(fetched);
      d.advance(1);
    }
  });

  it("a slow JWKS costs one deadline, not one per request: later requests are refused at once", async () => {
    const d = double();
    const first = d.cache.getKey(header("a"), token);
    const second = d.cache.getKey(header("b"), token);
    await settle();
    expect(d.fetches).toHaveLength(1);
    // The first request's deadline passes (the test says when): both waiters are released together.
    d.deadlines[0]!.resolve();
    await expect(first).rejects.toThrow(errors.JWKSTimeout);
    await expect(second).rejects.toThrow(errors.JWKSTimeout);
    // During the cooldown nothing waits on the JWKS: refused with no fetch and no deadline started.
    const deadlinesBefore = d.deadlines.length;
    await expect(d.cache.getKey(header("a"), token)).rejects.toThrow(JwksUnavailable);
    expect(d.deadlines).toHaveLength(deadlinesBefore);
    expect(d.fetches).toHaveLength(1);
    // The late answer of the abandoned fetch changes nothing.
    d.fetches[0]!.resolve(keysA);
    await settle();
    await expect(d.cache.getKey(header("a"), token)).rejects.toThrow(JwksUnavailable);
  });

  it("refetches for an unknown kid only once the refetch window since the last fetch has passed", async () => {
    const d = double();
    await answered(d, "a", keysA);
    await expect(d.cache.getKey(header("b"), token)).rejects.toThrow(errors.JWKSNoMatchingKey);
    expect(d.fetches).toHaveLength(1);
    d.advance(JWKS_UNKNOWN_KID_REFETCH_MS);
    await expect(answered(d, "b", keysAB)).resolves.toBeDefined();
  });

  it("keeps using held keys while a refresh fails, for at most an hour after they were fetched", async () => {
    const d = double();
    /** Every fetch asked for from here on fails. */
    const failPending = () => {
      for (const f of d.fetches) f.reject(new Error("down"));
    };
    await answered(d, "a", keysA);

    d.advance(JWKS_FRESH_MS); // stale: a refresh is tried, fails, and the held keys serve
    const refresh = d.cache.getKey(header("a"), token);
    await settle();
    expect(d.fetches).toHaveLength(2);
    failPending();
    await expect(refresh).resolves.toBeDefined();

    d.advance(JWKS_MAX_STALE_MS - JWKS_FRESH_MS - 1); // the last millisecond they may serve
    const lastMoment = d.cache.getKey(header("a"), token);
    await settle();
    failPending();
    await expect(lastMoment).resolves.toBeDefined();

    d.advance(1); // an hour old: refused, fail closed
    const tooOld = d.cache.getKey(header("a"), token);
    await settle();
    failPending();
    await expect(tooOld).rejects.toThrow(JwksUnavailable);
  });

  it("treats a malformed key set as a failed fetch", async () => {
    const d = double();
    const first = d.cache.getKey(header("a"), token);
    await settle();
    d.fetches[0]!.resolve({ keys: "nope" });
    await expect(first).rejects.toThrow();
    await expect(d.cache.getKey(header("a"), token)).rejects.toThrow(/not retried/);
    expect(d.fetches).toHaveLength(1);
  });
});
