// Replacing the compliance rule set: versioned (a stale `expectedVersion` is a conflict), audited before it applies
// (no audit, no change), and a version lost to a concurrent update said in the chain too.
import {
  type AuditService,
  type ComplianceRuleSet,
  type ComplianceRulesView,
  ErrorCode,
  err,
  ok,
  type Principal,
  type Result,
} from "@paulp/contracts";
import { auditAppend, canonicalHash } from "@paulp/kit";
import { loadRules, replaceRulesStatements } from "./compliance";

/** Replace the rules with `input` as `who`, at `now`; answers the rules now in force. */
export async function replaceComplianceRules(
  db: D1Database,
  audit: AuditService,
  input: ComplianceRuleSet,
  who: Principal,
  now: number,
): Promise<Result<ComplianceRulesView>> {
  const current = await loadRules(db);
  if (input.expectedVersion !== undefined && input.expectedVersion !== current.version) {
    return err(ErrorCode.conflict, `rules are at version ${current.version}, not ${input.expectedVersion}`);
  }
  const version = current.version + 1;
  const at = new Date(now).toISOString();
  // Audited before it applies: no audit, no change.
  const audited = await auditAppend(audit, {
    type: "compliance.rules_updated",
    service: "ingestion",
    actor: who,
    payload: {
      fromVersion: current.version,
      version,
      rulesHash: await canonicalHash("paulp.compliance-rules.v1", input.rules),
      ruleIds: input.rules.map((r) => r.id),
      // Full rules when they fit the audit payload limit; the hash always binds them.
      rules: input.rules.length <= 40 ? input.rules : null,
    },
  });
  if (!audited.ok) return err(ErrorCode.auditUnavailable, `rules not changed: ${audited.error.message}`);
  try {
    await db.batch(replaceRulesStatements(db, input.rules, version, at, who.subject));
  } catch (error) {
    if (!/UNIQUE|constraint/i.test(String((error as Error)?.message))) throw error;
    // A concurrent update took this version first: nothing of ours applied. Say so in the chain too, since
    // the update was audited before it was written.
    await auditAppend(audit, {
      type: "compliance.rules_update_lost",
      service: "ingestion",
      actor: who,
      payload: {
        version,
        reason: "a concurrent update took this version first; these rules never applied",
      },
    });
    return err(
      ErrorCode.conflict,
      `rules version ${version} was taken by a concurrent update: nothing changed`,
    );
  }
  return ok(await loadRules(db));
}
