import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { configPath, DEPLOYED_WORKERS, readJsonc } from "../src/preflight/config";
import { paulp, REPO_ROOT } from "./helpers";

// A service binding's target must exist when a worker is uploaded (docs/architecture.md), so CI deploys in an order
// where every binding points to a worker deployed before it. CI reads that order from `paulp deploy-order`: a
// deployed worker missing from it would never be deployed at all (the monitor once was).

/** Workers that have a deploy script: the ones CI must deploy. */
function workersWithDeployScript(): string[] {
  return readdirSync(path.join(REPO_ROOT, "workers")).filter((w) => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "workers", w, "package.json"), "utf8"));
    return typeof pkg.scripts?.["deploy:production"] === "string";
  });
}

describe("the deploy order", () => {
  it("names every worker that has a deploy script, and only those", () => {
    expect([...DEPLOYED_WORKERS].sort()).toEqual(workersWithDeployScript().sort());
  });

  for (const env of ["staging", "production"] as const)
    it(`puts every ${env} service binding's target before the worker that binds it`, () => {
      for (const [i, worker] of DEPLOYED_WORKERS.entries()) {
        const block = (readJsonc(configPath(REPO_ROOT, worker)).env?.[env] ?? {}) as {
          services?: { binding: string; service: string }[];
        };
        for (const s of block.services ?? []) {
          const target = s.service.replace(/^paulp-/, "").replace(/-staging$/, "");
          expect(DEPLOYED_WORKERS, `${worker} binds ${s.service}`).toContain(target);
          expect(DEPLOYED_WORKERS.indexOf(target as never), `${worker} binds ${s.service}`).toBeLessThan(i);
        }
      }
    });

  it("is what `paulp deploy-order` prints, filtered to the names given, and the order CI's deploy plan keeps", async () => {
    expect((await paulp(["deploy-order"])).out.trim()).toBe(DEPLOYED_WORKERS.join(" "));
    expect((await paulp(["deploy-order", "gateway", "audit", "monitor"])).out.trim()).toBe(
      "audit monitor gateway",
    );
    const unknown = await paulp(["deploy-order", "venue-sim"]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/not a deployed worker: venue-sim/);
    // Names from elsewhere (a list that includes the simulator): the simulator alone deploys nothing.
    expect((await paulp(["deploy-order", "--ignore-others", "venue-sim"])).out.trim()).toBe("");
    expect((await paulp(["deploy-order", "--ignore-others", "venue-sim", "risk"])).out.trim()).toBe("risk");
    const workflow = readFileSync(path.join(REPO_ROOT, ".github", "workflows", "deploy.yml"), "utf8");
    // CI deploys what `paulp deploy-plan` answers, in this order (test/deploy-plan.test.ts).
    expect(workflow).toContain("paulp deploy-plan");
    expect((await paulp(["deploy-plan", "--all"])).out.trim()).toBe(DEPLOYED_WORKERS.join(" "));
    // No second, hand-kept list of workers in the workflow.
    expect(workflow).not.toMatch(/\["audit",/);
  });
});
