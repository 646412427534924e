import { describe, expect, it } from "vitest";
import { CONSOLE_SCRIPT } from "../src/console";
import { sha256Base64 } from "../src/console-hash";
import { gateway } from "./helpers";

describe("operator console", () => {
  it("serves a page whose only script is the one its CSP hash allows, and no data", async () => {
    const res = await gateway().fetch("https://gw.test/console");
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain(`'sha256-${await sha256Base64(CONSOLE_SCRIPT)}'`);
    expect(csp).toContain("connect-src 'self'");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    const html = await res.text();
    expect(html).toContain(`<script>${CONSOLE_SCRIPT}</script>`);
    expect(html).not.toMatch(/Bearer [A-Za-z0-9_-]{20,}/);
  });
});
