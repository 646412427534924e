// For tests that run in workerd (vitest-pool-workers bundles this source).

/**
 * Reads until `check` holds, at most `attempts` reads, for a wait with no event a test can await: work another
 * worker finishes after it has answered (its waitUntil, its outbox alarm, a send held at the simulator), where
 * nothing crosses the binding. Bounded by attempts, not time: a slow machine takes longer instead of failing.
 */
export async function untilSettled<T>(
  read: () => Promise<T>,
  check: (v: T) => boolean,
  attempts = 200,
): Promise<T> {
  let v = await read();
  for (let i = 1; i < attempts && !check(v); i++) {
    await new Promise((r) => setTimeout(r, 25));
    v = await read();
  }
  return v;
}
