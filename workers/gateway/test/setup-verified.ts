import { env } from "cloudflare:workers";
import type { AuditStatus, Result } from "@paulp/contracts";

// Each file's chain (every file has its own mesh) is verified before its tests: two-person actions are
// refused while the audit chain's integrity is not `ok`, and a fresh chain is `unknown` until verified.
const status = (await env.AUDIT.status()) as Result<AuditStatus>;
if (!status.ok || status.value.integrity !== "ok") {
  const verified = await env.AUDIT.verify({
    mode: "incremental",
    actor: { method: "system", subject: "test:setup" },
  });
  if (!verified.ok || !verified.value.ok)
    throw new Error(`audit chain did not verify: ${JSON.stringify(verified)}`);
}
