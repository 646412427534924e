import type { AuditRpc } from "./audit";
import type { ExecutionRpc } from "./execution";
import type { GovernanceRpc } from "./governance";
import type { IngestionRpc } from "./ingestion";
import type { MonitorRpc } from "./monitor";
import type { RiskRpc } from "./risk";

// Bindings are typed from these, so a provider's drift from its contract fails to compile on both sides.
/**
 * A service binding typed from its contract `C`. The `~contract` member exists in the type only (nothing
 * sets it at run time): it lets `rpc()` (packages/kit) see the contract without relating workers-types'
 * deep stub types, which the checker gives up on.
 */
export type Bound<C> = Service<C & Rpc.WorkerEntrypointBranded> & { readonly "~contract"?: C };
/** Service binding to the audit worker. */
export type AuditService = Bound<AuditRpc>;
/** Service binding to the risk worker. */
export type RiskService = Bound<RiskRpc>;
/** Service binding to the ingestion worker. */
export type IngestionService = Bound<IngestionRpc>;
/** Service binding to the execution worker. */
export type ExecutionService = Bound<ExecutionRpc>;
/** Service binding to the governance worker. */
export type GovernanceService = Bound<GovernanceRpc>;
/** Service binding to the monitor worker. */
export type MonitorService = Bound<MonitorRpc>;
