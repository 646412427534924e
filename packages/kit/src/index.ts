export * from "./audit-client";
export * from "./canonical-json";
export * from "./crypto";
export * from "./egress";
export * from "./fees";
export * from "./health";
export * from "./http";
export * from "./timeout";
