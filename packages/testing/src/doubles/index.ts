// The doubles' test controls, for tests to type the bindings they reach them through.
export type { AuditDoubleState, RecordedEvent } from "./audit";
export type { GovernanceDoubleState } from "./governance";
export type { IngestionDoubleState, PlantedBook } from "./ingestion";
export type { DoubleCall, DoubleControls } from "./ledger";
export type { RiskDoubleState } from "./risk";
export type AuditDouble = import("./audit").default;
export type GovernanceDouble = import("./governance").default;
export type IngestionDouble = import("./ingestion").default;
export type RiskDouble = import("./risk").default;
