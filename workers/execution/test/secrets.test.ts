// The secrets execution declares are exactly the ones its code reads (least privilege, docs/security.md):
// IBKR_USERNAME and IBKR_PASSWORD log the Client Portal gateway in on its own host and are no worker's;
// the gateway's Cloudflare Access service token is required where a gateway sits behind Access.

import { parseJsonc } from "@paulp/testing/jsonc";
import { describe, expect, it } from "vitest";
import config from "../wrangler.jsonc?raw";

const sources = Object.values(
  import.meta.glob("../src/**/*.ts", { query: "?raw", import: "default", eager: true }) as Record<
    string,
    string
  >,
).join("\n");

type Cfg = { secrets?: { required?: string[] }; env?: Record<string, Cfg> };
const cfg = parseJsonc(config) as Cfg;
const envs: [string, string[]][] = [
  ["dev (top level)", cfg.secrets?.required ?? []],
  ["staging", cfg.env?.staging?.secrets?.required ?? []],
  ["production", cfg.env?.production?.secrets?.required ?? []],
];

describe("execution's secrets", () => {
  it.each(envs)("%s requires only secrets the code reads", (_name, required) => {
    for (const name of required)
      expect(sources, `${name} is required but never read`).toMatch(new RegExp(`env\\.${name}\\b`));
  });

  it("requires IBKR_USERNAME / IBKR_PASSWORD nowhere, and no code reads them", () => {
    for (const [, required] of envs) {
      expect(required).not.toContain("IBKR_USERNAME");
      expect(required).not.toContain("IBKR_PASSWORD");
    }
    expect(sources).not.toMatch(/IBKR_USERNAME|IBKR_PASSWORD/);
  });

  it("requires the gateway's Access service token in staging and production, not in dev", () => {
    expect(envs[0]![1]).not.toContain("IBKR_ACCESS_CLIENT_ID");
    for (const [, required] of envs.slice(1))
      expect(required).toEqual(
        expect.arrayContaining(["IBKR_ACCESS_CLIENT_ID", "IBKR_ACCESS_CLIENT_SECRET"]),
      );
  });
});
