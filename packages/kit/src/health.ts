import type { HealthCheck, HealthReport, ServiceName } from "@paulp/contracts";
import { withTimeout } from "./timeout";

/** Run named checks concurrently, each bounded by `timeoutMs`; any throw or timeout is a failing check. */
export async function runHealthChecks(
  service: ServiceName,
  checks: Record<string, () => Promise<string | undefined>>,
  timeoutMs = 2_000,
): Promise<HealthReport> {
  const results: HealthCheck[] = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        const detail = await withTimeout(check(), timeoutMs, name);
        return detail ? { name, ok: true, detail } : { name, ok: true };
      } catch (error) {
        return { name, ok: false, detail: (error as Error).message || String(error) };
      }
    }),
  );
  return { service, ok: results.every((c) => c.ok), checks: results };
}

/** A D1 round trip. */
export async function checkD1(db: D1Database): Promise<string> {
  const row = await db.prepare("SELECT 1 AS one").first<{ one: number }>();
  if (row?.one !== 1) throw new Error("D1 answered unexpectedly");
  return "select 1";
}

/** An R2 round trip (a head of a key that need not exist). */
export async function checkR2(bucket: R2Bucket): Promise<string> {
  await bucket.head("__health");
  return "head";
}

/** Fail when a required config value is empty. */
export function requireConfig(values: Record<string, string | undefined>): () => Promise<string> {
  return async () => {
    const missing = Object.entries(values)
      .filter(([, v]) => !v)
      .map(([k]) => k);
    if (missing.length > 0) throw new Error(`missing config: ${missing.join(", ")}`);
    return "present";
  };
}
