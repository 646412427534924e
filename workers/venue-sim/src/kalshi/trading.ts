import type { SimHandler } from "../context";

/** Simulated kalshi/trading endpoints (filled in by its issue). */
export const handleKalshiTrading: SimHandler = async () => null;
