import type { HealthReport, ServiceName } from "@paulp/contracts";
import { withTimeout } from "@paulp/kit";

/** A service whose `health()` the gateway can call. */
export interface HealthTarget {
  health(): Promise<HealthReport>;
}

export interface MeshStatus {
  status: "ok" | "degraded";
  services: Record<
    string,
    { ok: boolean; latencyMs: number; checks?: HealthReport["checks"]; error?: string }
  >;
  failing: string[];
  checkedAt: string;
}

/**
 * Ask every service for its health in parallel, each bounded by `timeoutMs`. A throw, a timeout or a
 * report with `ok: false` marks that service failing, with the reason.
 */
export async function meshStatus(
  targets: Partial<Record<Exclude<ServiceName, "gateway">, HealthTarget>>,
  timeoutMs: number,
  now: () => number = Date.now,
): Promise<MeshStatus> {
  const entries = await Promise.all(
    Object.entries(targets).map(async ([name, target]) => {
      const started = now();
      try {
        if (!target) throw new Error("binding is not configured");
        const report = await withTimeout(Promise.resolve(target.health()), timeoutMs, `${name} health`);
        const failed = report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail ?? "failed"}`);
        return [
          name,
          {
            ok: report.ok === true && failed.length === 0,
            latencyMs: now() - started,
            checks: report.checks,
            ...(failed.length > 0 ? { error: failed.join("; ") } : {}),
          },
        ] as const;
      } catch (error) {
        return [
          name,
          { ok: false, latencyMs: now() - started, error: (error as Error).message || String(error) },
        ] as const;
      }
    }),
  );
  const services = Object.fromEntries(entries);
  const failing = entries.filter(([, s]) => !s.ok).map(([name]) => name);
  return {
    status: failing.length === 0 ? "ok" : "degraded",
    services,
    failing,
    checkedAt: new Date(now()).toISOString(),
  };
}
