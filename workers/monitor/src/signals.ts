import type { IngestionStatus, Result } from "@paulp/contracts";
import { type ContractOf, type RpcTarget, rpc } from "@paulp/kit";
import type { Env } from "./env";
import type { IngestionSignal, Snapshot, Source } from "./observation";

/** How long the monitor waits for each source. */
export const SIGNAL_TIMEOUT_MS = 5_000;

/**
 * Read every signal the other workers already expose, in parallel, each bounded. A source that throws, times out
 * or answers a failure is null in the snapshot and named in `unavailable` with the reason.
 */
export async function readSignals(env: Env, now: () => number = Date.now): Promise<Snapshot> {
  const unavailable: Snapshot["unavailable"] = [];
  const read = async <B extends RpcTarget, T>(
    source: Source,
    target: B,
    call: (contract: ContractOf<B>) => Promise<Result<T>>,
  ): Promise<T | null> => {
    const r = await rpc(target, call, { what: `${source} read`, timeoutMs: SIGNAL_TIMEOUT_MS });
    if (r.ok) return r.value;
    unavailable.push({ source, reason: `${r.error.code}: ${r.error.message}` });
    return null;
  };
  // All four are asked at once; each is awaited below.
  const risk = read("risk", env.RISK, (s) => s.monitorStats());
  const audit = read("audit", env.AUDIT, (s) => s.status());
  const ingestion = read("ingestion", env.INGESTION, (s) => s.status());
  const execution = read("execution", env.EXECUTION, (s) => s.monitorStats());
  const signals = {
    risk: await risk,
    audit: await audit,
    ingestion: ingestionSignal(await ingestion),
    execution: await execution,
  };

  unavailable.sort((a, b) => a.source.localeCompare(b.source));
  return { atMs: now(), ...signals, unavailable } as Snapshot;
}

/** An ingestion deployed before the evidence index audit answers without `evidenceIndex`: read as null, not absent. */
export function ingestionSignal(status: IngestionStatus | null): IngestionSignal | null {
  if (!status) return null;
  const reported: Partial<Pick<IngestionStatus, "evidenceIndex">> = status;
  return { ...status, evidenceIndex: reported.evidenceIndex ?? null };
}
