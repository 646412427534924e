import type { GatewayRouter } from "../router";

/** Admin routes of the audit worker (filled in by its issue). */
export function registerAuditRoutes(_router: GatewayRouter): void {}
