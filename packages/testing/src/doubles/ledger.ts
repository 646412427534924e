// The part every service double shares: its state lives in module scope (one auxiliary worker per double, so one
// copy per test run), tests read every call made to it and patch or reset its state over RPC.
import { WorkerEntrypoint } from "cloudflare:workers";
import type { ApiError, Result } from "@paulp/contracts";

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
}

/** A double's state and call record, held at module scope by the double's file. */
export class Ledger<S extends object> {
  state: S;
  calls: DoubleCall[] = [];
  constructor(private readonly fresh: () => S) {
    this.state = fresh();
  }
  record(method: string, fields: Record<string, unknown> = {}): void {
    this.calls.push({ method, ...fields });
  }
  reset(): void {
    this.state = this.fresh();
    this.calls = [];
  }
}

/** Base of every double: the test controls over the double's ledger. */
export abstract class DoubleEntrypoint<S extends object>
  extends WorkerEntrypoint<unknown>
  implements DoubleControls<S>
{
  protected abstract readonly ledger: Ledger<S>;
  async _set(patch: Partial<S>): Promise<void> {
    Object.assign(this.ledger.state, patch);
  }
  async _reset(): Promise<void> {
    this.ledger.reset();
  }
  async _calls(method?: string): Promise<DoubleCall[]> {
    return method ? this.ledger.calls.filter((c) => c.method === method) : this.ledger.calls;
  }
}

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const err = <T = never>(code: ApiError["code"], message: string): Result<T> => ({
  ok: false,
  error: { code, message },
});

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
  const bytes = new TextEncoder().encode(`paulp.intent.v1\n${canonical(intent)}`);
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
