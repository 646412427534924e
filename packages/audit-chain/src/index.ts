export * from "./anchor";
export * from "./checkpoint";
export * from "./entry";
export * from "./entry-line";
export * from "./export";
export * from "./hash";
export type { AuditAnchor, AuditEntry, AuditMirrorBatch, ChainBreak, ChainPoint } from "./types";
export * from "./verify";
