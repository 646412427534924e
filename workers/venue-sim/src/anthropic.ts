import type { SimHandler } from "./context";

/** Simulated anthropic endpoints (filled in by its issue). */
export const handleAnthropic: SimHandler = async () => null;
