import type { Result } from "@paulp/contracts";
import { rpc } from "@paulp/kit";
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
  const read = async <T>(source: Source, answer: Promise<Result<T>>): Promise<T | null> => {
    const r = await answer;
    if (r.ok) return r.value;
    unavailable.push({ source, reason: `${r.error.code}: ${r.error.message}` });
    return null;
  };
  const options = (source: Source) => ({ what: `${source} read`, timeoutMs: SIGNAL_TIMEOUT_MS });
  const [risk, audit, ingestion, execution] = await Promise.all([
    read(
      "risk",
      rpc(env.RISK, (risk) => risk.monitorStats(), options("risk")),
    ),
    read(
      "audit",
      rpc(env.AUDIT, (audit) => audit.status(), options("audit")),
    ),
    read(
      "ingestion",
      rpc(env.INGESTION, (ingestion) => ingestion.status(), options("ingestion")),
    ),
    read(
      "execution",
      rpc(env.EXECUTION, (execution) => execution.monitorStats(), options("execution")),
    ),
  ]);
  unavailable.sort((a, b) => a.source.localeCompare(b.source));
  return { atMs: now(), risk, audit, ingestion, execution, unavailable } as Snapshot;
}
