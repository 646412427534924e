import type { GatewayRouter } from "../router";

/** Admin routes of the ingestion worker (filled in by its issue). */
export function registerIngestionRoutes(_router: GatewayRouter): void {}
