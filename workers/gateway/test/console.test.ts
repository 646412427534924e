import { describe, expect, it } from "vitest";
import { CONSOLE_ASSETS } from "../src/console-assets.generated";
import { CONSOLE_CSP } from "../src/routes/console";
import { gateway } from "./helpers";

describe("operator console", () => {
  it("serves the page with a CSP that allows only its own files (no inline script), and no data", async () => {
    const res = await gateway().fetch("https://gw.test/console");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toBe(CONSOLE_CSP);
    expect(csp).toContain("script-src 'self';");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).toContain("connect-src 'self'");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    const html = await res.text();
    // Every script is a file of this origin: no inline code for the CSP to allow.
    expect(html).not.toMatch(/<script>(?!<\/script>)/);
    expect(html).toContain('<script src="/console/app.js"></script>');
    expect(html).not.toMatch(/Bearer [A-Za-z0-9_-]{20,}/);
  });

  it("serves its script, styles and the vendored uPlot from the bundle, each with its type", async () => {
    for (const [path, type, needle] of [
      ["/console/app.js", "text/javascript", "sessionStorage"],
      ["/console/app.css", "text/css", ".banner"],
      ["/console/uplot.js", "text/javascript", "uPlot"],
      ["/console/uplot.css", "text/css", ".uplot"],
    ] as const) {
      const res = await gateway().fetch(`https://gw.test${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type")).toContain(type);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      const body = await res.text();
      expect(body).toBe(CONSOLE_ASSETS[path]!.body);
      expect(body).toContain(needle);
    }
  });

  it("keeps the admin token in the tab only: sessionStorage, never localStorage or a cookie", () => {
    const script = CONSOLE_ASSETS["/console/app.js"]!.body;
    expect(script).toContain("sessionStorage.setItem");
    expect(script).not.toContain("localStorage");
    expect(script).not.toContain("document.cookie");
  });
});
