import type { AuditRpc } from "./audit";
import type { ExecutionRpc } from "./execution";
import type { GovernanceRpc } from "./governance";
import type { IngestionRpc } from "./ingestion";
import type { MonitorRpc } from "./monitor";
import type { RiskRpc } from "./risk";

// Bindings are typed from these, so a provider's drift from its contract fails to compile on both sides.
/** Service binding to the audit worker. */
export type AuditService = Service<AuditRpc & Rpc.WorkerEntrypointBranded>;
/** Service binding to the risk worker. */
export type RiskService = Service<RiskRpc & Rpc.WorkerEntrypointBranded>;
/** Service binding to the ingestion worker. */
export type IngestionService = Service<IngestionRpc & Rpc.WorkerEntrypointBranded>;
/** Service binding to the execution worker. */
export type ExecutionService = Service<ExecutionRpc & Rpc.WorkerEntrypointBranded>;
/** Service binding to the governance worker. */
export type GovernanceService = Service<GovernanceRpc & Rpc.WorkerEntrypointBranded>;
/** Service binding to the monitor worker. */
export type MonitorService = Service<MonitorRpc & Rpc.WorkerEntrypointBranded>;
