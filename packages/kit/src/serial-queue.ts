/**
 * Run async operations one at a time. A Durable Object's input gate does not hold across awaits on other
 * I/O (RPC to audit or governance, crypto.subtle), so every read-decide-write that awaits goes through this
 * (risk's governor and breaker, monitor's alert desk).
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  /** Runs queued or running. */
  private pending = 0;
  private waiters: { count: number; wake: () => void }[] = [];

  run<T>(fn: () => Promise<T>): Promise<T> {
    this.pending++;
    for (const w of this.waiters.filter((w) => this.pending >= w.count)) w.wake();
    this.waiters = this.waiters.filter((w) => this.pending < w.count);
    const next = this.tail.then(fn, fn).finally(() => {
      this.pending--;
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  /**
   * Test seam (nothing in production calls it): resolves once `count` runs are queued or running, so a test
   * drives a race by the event "the second order is waiting its turn" instead of a sleep.
   */
  whenPending(count: number): Promise<void> {
    if (this.pending >= count) return Promise.resolve();
    return new Promise((wake) => this.waiters.push({ count, wake }));
  }
}
