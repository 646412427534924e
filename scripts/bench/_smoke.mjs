// `pnpm bench --smoke` (BENCH_SMOKE=1): every benchmark runs end to end at a small size, so the test command
// catches a benchmark that no longer runs (a migration, a renamed RPC). Its figures mean nothing.
export const SMOKE = process.env.BENCH_SMOKE === "1";

/** The full size, or the smoke size under BENCH_SMOKE=1. */
export const size = (full, smoke) => (SMOKE ? smoke : full);
