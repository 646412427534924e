import {
  ErrorCode,
  type OrderIntent,
  type PreTradeCheck,
  type Result,
  type StrategySummary,
} from "@paulp/contracts";

/** What the order path learnt before sending: go (with what to record), or a refusal naming why. */
export type PreTradeOutcome =
  | { ok: true; record: { compliance: string; rulesVersion: number | null } }
  | { ok: false; code: string; message: string; details: { field?: string; missing?: string[] } };

/**
 * Decide from the strategy and ingestion's pre-trade check (pure). A reference that does not exist refuses
 * every order (it names nothing real). Compliance refuses what opens or increases a position in a market the
 * rules in force block, or whose verdict cannot be obtained (fail closed); a reduce or close goes through so a
 * position in a market blocked since it was opened can always be unwound (exit only, never entry), as it does
 * when a check cannot be made at all.
 */
export function preTradeVerdict(
  intent: OrderIntent,
  strategy: Result<StrategySummary>,
  check: Result<PreTradeCheck>,
): PreTradeOutcome {
  if (!strategy.ok && strategy.error.code === ErrorCode.notFound)
    return {
      ok: false,
      code: ErrorCode.unknownReference,
      message: `strategyId: no strategy ${intent.strategyId} exists`,
      details: { field: "strategyId", missing: [intent.strategyId] },
    };
  if (check.ok && check.value.missingEvidence.length > 0)
    return {
      ok: false,
      code: ErrorCode.unknownReference,
      message: `evidenceHashes: no evidence is stored under ${check.value.missingEvidence.join(", ")}`,
      details: { field: "evidenceHashes", missing: check.value.missingEvidence },
    };
  const opening = intent.effect === "open" || intent.effect === "increase";
  const market = `${intent.venue}:${intent.market}`;
  const refuse = (code: string, message: string): PreTradeOutcome =>
    opening
      ? { ok: false, code, message, details: {} }
      : { ok: true, record: { compliance: message, rulesVersion } };
  const rulesVersion = check.ok ? check.value.rulesVersion : null;
  if (!strategy.ok)
    return refuse(
      ErrorCode.serviceUnavailable,
      `strategy ${intent.strategyId} cannot be checked: ${strategy.error.message}`,
    );
  if (!check.ok)
    return refuse(
      ErrorCode.serviceUnavailable,
      `no compliance verdict for ${market}: ${check.error.message}`,
    );
  const c = check.value.compliance;
  switch (c.verdict) {
    case "allow":
      return { ok: true, record: { compliance: "allow", rulesVersion } };
    case "not_applicable":
      return { ok: true, record: { compliance: `not applicable: ${c.reason}`, rulesVersion } };
    case "block":
      return refuse(
        ErrorCode.complianceBlocked,
        `${market} is blocked by compliance rule ${c.ruleId} (${c.reason}), rules version ${rulesVersion}`,
      );
    default:
      return refuse(ErrorCode.complianceBlocked, `no compliance verdict for ${market}: ${c.reason}`);
  }
}
