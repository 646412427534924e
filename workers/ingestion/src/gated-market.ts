// A stored market as the RPC serves it: checked again against the rules in force now, so a rule added since the
// market was ingested refuses it at once.
import { ErrorCode, err, type MarketRecord, ok, type Result } from "@paulp/contracts";
import { gateWithCurrentRules } from "./compliance";
import { getMarketRow } from "./market-queries";

/** A stored market, checked again against the rules in force now (a rule added since refuses it). */
export async function gatedMarket(
  db: D1Database,
  venue: "kalshi" | "polymarket",
  marketId: string,
  now: number,
): Promise<Result<MarketRecord>> {
  const market = await getMarketRow(db, venue, marketId, now);
  if (!market) return err(ErrorCode.notFound, `no stored market ${venue}:${marketId}`);
  const d = (await gateWithCurrentRules(db)).check(market);
  if (d.decision === "allow") return ok(market);
  return d.decision === "block"
    ? err(ErrorCode.complianceBlocked, `blocked by compliance rule ${d.rule.id}`)
    : err(ErrorCode.complianceBlocked, `compliance gate denied: ${d.reason}`);
}
