// The replay engine (#18): pure modules over an evidence set, no clock, storage or network of their own, so the
// mesh (in workerd, in bounded alarm steps) and `pnpm replay` (in Node, over an export) compute the same report.
export * from "./citation";
export * from "./engine";
export * from "./evidence";
export * from "./export-file";
export * from "./export-stream";
export * from "./metrics";
export * from "./offline";
export * from "./report";
