import { mkdirSync, rmSync } from "node:fs";
import type { TestProject } from "vitest/node";
import { ensureChromium } from "./chromium";
import { adminTokenOf, freePort, type MeshInfo, ROOT, SCREENSHOTS, startMesh } from "./mesh";

declare module "vitest" {
  export interface ProvidedContext {
    mesh: MeshInfo;
  }
}

/**
 * Once per run: the browser (installed if missing, else the run fails saying how), the whole mesh on a fresh state
 * folder, and the dev seed (pairs found, assessed and reviewed; a paper strategy; the breaker drill).
 */
export default async function setup(project: TestProject) {
  ensureChromium();
  rmSync(SCREENSHOTS, { recursive: true, force: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
  // A free port unless one is named: two runs of the suite at once must not share a mesh port.
  const port = process.env.PAULP_E2E_PORT ? Number(process.env.PAULP_E2E_PORT) : await freePort();
  const startedAt = Date.now();
  const mesh = await startMesh(port);
  try {
    const adminToken = adminTokenOf();
    // The seed's dev history, shortened to half an hour (six ticks; two simulated hours add a minute or more): a
    // go-live counts the span of evidence its replay replayed, and the mesh's own fetches span only the minutes it
    // has run. Unless named (the seed reads it when it is loaded, here).
    process.env.PAULP_DEV_HISTORY_HOURS ??= "0.5";
    const seedPath = `${ROOT}/scripts/dev-seed.mjs`;
    const { seedDev } = (await import(seedPath)) as {
      seedDev: (o: { base: string; adminToken: string; log: (l: string) => void }) => Promise<void>;
    };
    // As the soak does: a seed step that times out on a loaded machine is tried again (the seed skips what is done).
    for (let attempt = 1; ; attempt++) {
      try {
        await seedDev({ base: mesh.base, adminToken, log: () => {} });
        break;
      } catch (error) {
        if (attempt >= 5) throw error;
        console.log(`[e2e] seed attempt ${attempt}: ${(error as Error).message}; trying again`);
      }
    }
    project.provide("mesh", { base: mesh.base, adminToken, screenshots: SCREENSHOTS, startedAt });
  } catch (error) {
    await mesh.stop();
    throw new Error(`${(error as Error).message} (the mesh's log: ${mesh.log})`);
  }
  return async () => {
    await mesh.stop();
  };
}
