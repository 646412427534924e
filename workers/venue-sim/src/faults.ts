import type { SimContext } from "./context";

/**
 * Switchable faults per host and path prefix (filled in by the ingestion issue): answers a faulty
 * response instead of the real one, or null to let the request through.
 */
export async function interceptFault(_request: Request, _url: URL, _sim: SimContext): Promise<Response | null> {
  return null;
}

/** Admin endpoints under /__sim/faults on any host (dev and tests only). */
export async function handleFaultAdmin(_request: Request, _url: URL, _sim: SimContext): Promise<Response | null> {
  return null;
}
