// Before an order: what the rules in force say of its market, and which evidence it cites that ingestion does not
// hold. Execution asks; the time is passed in.
import type { ComplianceVerdict, PreTradeCheck, Venue } from "@paulp/contracts";
import { ComplianceAgent, loadRules, verdictOf } from "./compliance";
import { missingEvidence } from "./evidence";
import { getMarketRow } from "./market-queries";

/** The check of one intended order's market and cited evidence (the three reads at once). */
export async function preTradeCheck(
  db: D1Database,
  q: { venue: Venue; marketId: string; evidenceHashes: string[] },
  now: number,
): Promise<PreTradeCheck> {
  let rulesVersion = 0;
  const agent = new ComplianceAgent();
  const [missing, market] = await Promise.all([
    missingEvidence(db, q.evidenceHashes),
    q.venue === "ibkr" ? null : getMarketRow(db, q.venue, q.marketId, now),
    agent.prepare(async () => {
      const view = await loadRules(db);
      rulesVersion = view.version;
      return view.rules;
    }),
  ]);
  const compliance: ComplianceVerdict =
    q.venue === "ibkr"
      ? { verdict: "not_applicable", reason: "IBKR instruments are not ingested: no rule can name one" }
      : verdictOf(market, agent);
  return { compliance, rulesVersion, missingEvidence: missing };
}
