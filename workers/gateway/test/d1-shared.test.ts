import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("test harness", () => {
  it("migrates the auxiliary workers' D1 databases from the runner", async () => {
    const row = await env.TEST_D1_ANCHOR.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'anchors'",
    ).first<{ name: string }>();
    expect(row?.name).toBe("anchors");
  });
});
