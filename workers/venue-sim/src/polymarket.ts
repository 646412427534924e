import type { SimHandler } from "./context";

/** Simulated polymarket endpoints (filled in by its issue). */
export const handlePolymarket: SimHandler = async () => null;
