import type { GatewayRouter } from "../router";

/** Admin routes of the execution worker (filled in by its issue). */
export function registerExecutionRoutes(_router: GatewayRouter): void {}
