/**
 * Run async operations one at a time. A Durable Object's input gate does not hold across awaits on other
 * I/O (RPC to audit or governance, crypto.subtle), so every read-decide-write that awaits goes through this.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
