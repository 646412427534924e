import { CONSOLE_CSP, CONSOLE_HTML, CONSOLE_SCRIPT } from "../console";
import { sha256Base64 } from "../console-hash";
import type { GatewayRouter } from "../router";

let csp: Promise<string> | undefined;

/** `GET /console`: the static operator page (it holds no data; every action goes through /admin/*). */
export function registerConsoleRoutes(router: GatewayRouter): void {
  router.get("/console", async () => {
    csp ??= sha256Base64(CONSOLE_SCRIPT).then((hash) =>
      CONSOLE_CSP.replace("sha256-__SCRIPT_HASH__", `sha256-${hash}`),
    );
    return new Response(CONSOLE_HTML, {
      headers: {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": await csp,
        "x-frame-options": "DENY",
        "referrer-policy": "no-referrer",
        "cache-control": "no-store",
      },
    });
  });
}
