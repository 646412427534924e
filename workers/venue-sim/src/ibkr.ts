import type { SimHandler } from "./context";

/** Simulated ibkr endpoints (filled in by its issue). */
export const handleIbkr: SimHandler = async () => null;
