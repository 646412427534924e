import { CONSOLE_ASSETS } from "../console-assets.generated";
import type { GatewayRouter } from "../router";

/**
 * Strict CSP: scripts and styles only from this origin (no inline script), no framing, no outbound connections
 * but this origin, no forms posted anywhere. The page holds no data; every action goes through /admin/*.
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** `GET /console` and its files: the operator page, its script and styles, and the vendored uPlot. */
export function registerConsoleRoutes(router: GatewayRouter): void {
  for (const [path, asset] of Object.entries(CONSOLE_ASSETS)) {
    router.get(
      path,
      () =>
        new Response(asset.body, {
          headers: {
            "content-type": asset.type,
            "content-security-policy": CONSOLE_CSP,
            "x-frame-options": "DENY",
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            "cache-control": "no-store",
          },
        }),
    );
  }
}
