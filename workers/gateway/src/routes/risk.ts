import type { GatewayRouter } from "../router";

/** Admin routes of the risk worker (filled in by its issue). */
export function registerRiskRoutes(_router: GatewayRouter): void {}
