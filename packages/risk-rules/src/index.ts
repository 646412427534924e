// Risk's rules as plain functions: the pre-trade evaluation, the incremental view, the limit rules, the portfolio
// with its fills and marks, the exposure report and the circuit breaker's transition table. No clock, storage or
// network: risk's Durable Objects run them over their state, and a replay (#18) runs the same code over its own.
export * from "./breaker";
export * from "./evaluate";
export * from "./exposure";
export * from "./exposure-detail";
export * from "./fills";
export * from "./limit-rules";
export * from "./limits";
export * from "./marks";
export * from "./portfolio";
export * from "./reasons";
export * from "./units";
export * from "./view";
export * from "./view-groups";
export * from "./view-held";
