// The part every service double shares: its state lives in module scope (one auxiliary worker per double, so one
// copy per test run), tests read every call made to it and patch or reset its state over RPC.
import { WorkerEntrypoint } from "cloudflare:workers";
import { err, type HealthReport, INTENT_HASH_DOMAIN, ok, type ServiceName } from "@paulp/contracts";

// The doubles answer in the contracts' own Result shape.
export { err, ok };

/** One call a double received: the method and its arguments, by name. */
export type DoubleCall = { method: string } & Record<string, unknown>;

/** The test controls every double answers besides its contract (`_` names: no contract method starts so). */
export interface DoubleControls<S> {
  /** Merge into the double's state (its fault switches among them). */
  _set(patch: Partial<S>): Promise<void>;
  /** Back to a fresh state, calls forgotten. */
  _reset(): Promise<void>;
  /** Every call received since the last reset, oldest first; only `method`'s when named. */
  _calls(method?: string): Promise<DoubleCall[]>;
  /** Answers once `method` has received `count` calls since the last reset (the event, not a poll). */
  _arrivals(method: string, count: number): Promise<number>;
  /** Calls of `method` that can be held wait from now on until `_release()` (a slow peer, on the test's cue). */
  _hold(method: string): Promise<void>;
  /** Lets every held call go on. */
  _release(): Promise<void>;
}

/**
 * Waits for a promise another request resolves (a test's call to the double). workerd cancels a request that
 * awaits with nothing of its own pending as hung, so a timer is kept pending meanwhile; it reads nothing: the
 * wake-up is the other request's event, not a poll.
 */
async function awake<T>(promise: Promise<T>): Promise<T> {
  const alive = setInterval(() => {}, 1_000);
  try {
    return await promise;
  } finally {
    clearInterval(alive);
  }
}

/** A double's state and call record, held at module scope by the double's file. */
export class Ledger<S extends object> {
  state: S;
  calls: DoubleCall[] = [];
  private waiters: { method: string; count: number; wake: (n: number) => void }[] = [];
  private held = new Set<string>();
  private openers: (() => void)[] = [];
  constructor(private readonly fresh: () => S) {
    this.state = fresh();
  }
  record(method: string, fields: Record<string, unknown> = {}): void {
    this.calls.push({ method, ...fields });
    const n = this.count(method);
    for (const w of this.waiters.filter((w) => w.method === method && n >= w.count)) w.wake(n);
    this.waiters = this.waiters.filter((w) => !(w.method === method && n >= w.count));
  }
  count(method: string): number {
    return this.calls.filter((c) => c.method === method).length;
  }
  arrivals(method: string, count: number): Promise<number> {
    const n = this.count(method);
    if (n >= count) return Promise.resolve(n);
    return awake(new Promise((wake) => this.waiters.push({ method, count, wake })));
  }
  hold(method: string): void {
    this.held.add(method);
  }
  /**
   * Where a call that can be held waits while its method is held (after it is recorded). Each waiter makes its
   * own promise: workerd cancels continuations of a promise whose creating request has ended.
   */
  async gate(method: string): Promise<void> {
    if (this.held.has(method)) await awake(new Promise<void>((open) => this.openers.push(open)));
  }
  release(): void {
    this.held.clear();
    for (const open of this.openers.splice(0)) open();
  }
  reset(): void {
    this.release();
    this.state = this.fresh();
    this.calls = [];
  }
}

/** Base of every double: the test controls over the double's ledger. */
abstract class DoubleEntrypoint<S extends object>
  extends WorkerEntrypoint<unknown>
  implements DoubleControls<S>
{
  protected abstract readonly ledger: Ledger<S>;
  /** The service this double stands in for (its health report names it). */
  protected abstract readonly service: ServiceName;
  /** Every double is healthy: a test of a failing peer sets its fault switches instead. */
  async health(): Promise<HealthReport> {
    return { service: this.service, ok: true, checks: [] };
  }
  async _set(patch: Partial<S>): Promise<void> {
    Object.assign(this.ledger.state, patch);
  }
  async _reset(): Promise<void> {
    this.ledger.reset();
  }
  async _calls(method?: string): Promise<DoubleCall[]> {
    return method ? this.ledger.calls.filter((c) => c.method === method) : this.ledger.calls;
  }
  async _arrivals(method: string, count: number): Promise<number> {
    return this.ledger.arrivals(method, count);
  }
  async _hold(method: string): Promise<void> {
    this.ledger.hold(method);
  }
  async _release(): Promise<void> {
    this.ledger.release();
  }
}

/**
 * The base a double for `service` extends: the test controls over `ledger` (the double's module-scope state) and
 * a health report naming the service. `class RiskDouble extends doubleOf("risk", ledger) implements Doubled`.
 */
export function doubleOf<S extends object>(service: ServiceName, ledger: Ledger<S>) {
  return class extends DoubleEntrypoint<S> {
    protected readonly ledger = ledger;
    protected readonly service = service;
  };
}

/** A per-seq hash, so a test can tell which receipt a record kept. */
export const hashOfSeq = (seq: number): string => seq.toString(16).padStart(64, "0");

/** Canonical JSON and the intent hash, written here independently of @paulp/kit (a double is an oracle). */
export function canonical(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const o = value as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(",")}}`;
}
export async function intentHash(intent: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(`${INTENT_HASH_DOMAIN}\n${canonical(intent)}`);
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The injected slow-peer fault (`delayMs`): a slow audit is the behaviour those tests are about, not a wait. */
export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
