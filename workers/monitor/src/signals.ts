import type { Result } from "@paulp/contracts";
import { withTimeout } from "@paulp/kit";
import type { Env } from "./env";
import type { Snapshot, Source } from "./rules";

/** How long the monitor waits for each source. */
export const SIGNAL_TIMEOUT_MS = 5_000;

/**
 * Read every signal the other workers already expose, in parallel, each bounded. A source that throws, times out
 * or answers a failure is null in the snapshot and named in `unavailable` with the reason.
 */
export async function readSignals(env: Env, now: () => number = Date.now): Promise<Snapshot> {
  const unavailable: Snapshot["unavailable"] = [];
  const read = async <T>(source: Source, call: () => Promise<Result<T>>): Promise<T | null> => {
    try {
      const r = await withTimeout(Promise.resolve(call()), SIGNAL_TIMEOUT_MS, `${source} read`);
      if (r?.ok) return r.value;
      unavailable.push({ source, reason: r ? `${r.error.code}: ${r.error.message}` : "no answer" });
    } catch (error) {
      unavailable.push({ source, reason: (error as Error).message || String(error) });
    }
    return null;
  };
  const [risk, audit, ingestion, execution] = await Promise.all([
    read("risk", () => env.RISK.monitorStats()),
    read("audit", () => env.AUDIT.status()),
    read("ingestion", () => env.INGESTION.status()),
    read("execution", () => env.EXECUTION.monitorStats()),
  ]);
  unavailable.sort((a, b) => a.source.localeCompare(b.source));
  return { atMs: now(), risk, audit, ingestion, execution, unavailable } as Snapshot;
}
