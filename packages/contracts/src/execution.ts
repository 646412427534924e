import type { HealthReport, Result } from "./common";

/** RPC surface of the `execution` worker. */
export interface ExecutionRpc {
  health(): Promise<HealthReport>;
}
