import type { SimHandler } from "../context";

/** Simulated kalshi/markets endpoints (filled in by its issue). */
export const handleKalshiMarkets: SimHandler = async () => null;
