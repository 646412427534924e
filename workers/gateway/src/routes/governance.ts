import type { GatewayRouter } from "../router";

/** Admin routes of the governance worker (filled in by its issue). */
export function registerGovernanceRoutes(_router: GatewayRouter): void {}
