// The pre-live checklist: each item is a check in config-checks.ts (what the configs say) or
// drill-checks.ts (what the running mesh has done), run in the specification's order.

import { type Check, type CheckLine, type Configs, fail, type PreflightInput } from "./check";
import { DEPLOYED_WORKERS, envConfig } from "./config";
import {
  accessConfigured,
  adminTokenStrong,
  gatewayRoute,
  incidentContacts,
  noPlaceholderD1,
  noSecretsInConfig,
  previewsOff,
  secretsSet,
} from "./config-checks";
import { anchoringVerified, breakerTested, reconciliationWorks, twoPersonDocumented } from "./drill-checks";
import { Live } from "./live";

export type { CheckLine, PreflightInput } from "./check";
export { MAX_ANCHOR_AGE_SECONDS } from "./drill-checks";

/** The specification's pre-live checklist, in its order. */
const CHECKLIST: Check[] = [
  secretsSet,
  adminTokenStrong,
  accessConfigured,
  previewsOff,
  noSecretsInConfig,
  noPlaceholderD1,
  gatewayRoute,
  anchoringVerified,
  reconciliationWorks,
  breakerTested,
  twoPersonDocumented,
  incidentContacts,
];

/** Run every check; never throws (a check that cannot run fails with why). */
export async function preflight(input: PreflightInput): Promise<CheckLine[]> {
  const configs: Configs = new Map();
  for (const w of DEPLOYED_WORKERS) {
    try {
      configs.set(w, envConfig(input.root, w, input.target));
    } catch (error) {
      configs.set(w, error as Error);
    }
  }
  const ctx = { input, configs, live: new Live(input.client) };
  const lines: CheckLine[] = [];
  for (const check of CHECKLIST) {
    try {
      const out = await check(ctx);
      lines.push(...(Array.isArray(out) ? out : [out]));
    } catch (error) {
      lines.push(fail("(a check that could not run)", (error as Error).message));
    }
  }
  return lines;
}
