import { sha256Hex } from "@paulp/kit";

/**
 * The client order id, derived from strategy, the strategy's decision key and the leg. It must exist before
 * risk is asked (the intent risk hashes contains it), so the "decision" here is the strategy's own decision
 * (e.g. pair and minute), not risk's decision id: deciding the same thing twice yields the same id, so a
 * retried loop run can never place a second order for one decision.
 */
export async function deriveClientOrderId(
  strategyId: string,
  decisionKey: string,
  leg: string,
): Promise<string> {
  const h = await sha256Hex(`paulp.coid.v1\n${strategyId}\n${decisionKey}\n${leg}`);
  return `pp-${h.slice(0, 32)}`;
}
