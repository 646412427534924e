import {
  type OrderIntent,
  RiskReasonCode as R,
  type RiskReason,
  type RiskReasonCode,
} from "@paulp/contracts";
import { FULL_PCT, formatDollars, formatPct, mulDiv, ratioPct } from "@paulp/kit";
import type { ParsedLimits } from "./limit-rules";

/** A denial's typed reason with the numbers that tripped it (the messages every evaluation writes). */

/** Micros as dollars with cents, truncated (as every money figure in a reason). */
export const money = (micros: number) => formatDollars(micros, 2, "trunc");

export function reason(code: RiskReasonCode, message: string, observed?: string, limit?: string): RiskReason {
  const r: RiskReason = { code, message };
  if (observed !== undefined) r.observed = observed;
  if (limit !== undefined) r.limit = limit;
  return r;
}

export function pctReason(
  code: RiskReasonCode,
  what: string,
  part: number,
  whole: number,
  limitPct: number,
  at: string,
): RiskReason {
  const observed = formatPct(ratioPct(part, whole) ?? 0n);
  const limit = formatPct(limitPct);
  return reason(code, `${code}: ${what}=${observed}% limit=${limit}% at ${at}`, `${observed}%`, `${limit}%`);
}

/**
 * A buy priced above `ref` plus the collar, or a sell below `ref` minus it, names both prices. The collar is the
 * larger of `collarPct` of the reference and `collarMin` (a price at exactly the edge passes).
 */
export function collarReason(
  side: OrderIntent["side"],
  price: number,
  what: string,
  ref: number,
  limits: ParsedLimits,
): RiskReason | null {
  // The percentage band in whole 1e-4 $ (floored), as prices are.
  const band = Math.max(mulDiv(ref, limits.collarPct, FULL_PCT * 100, "floor") * 100, limits.collarMin);
  const edge = side === "buy" ? ref + band : ref - band;
  if (side === "buy" ? price <= edge : price >= edge) return null;
  const p = (units: number) => formatDollars(units, 4, "trunc");
  const how =
    side === "buy" ? `is above ${what} ${p(ref)} + ${p(band)}` : `is below ${what} ${p(ref)} − ${p(band)}`;
  return reason(
    R.priceCollarExceeded,
    `${R.priceCollarExceeded}: ${side} at ${p(price)} ${how} (${formatPct(limits.collarPct)}%, at least ${p(limits.collarMin)}) = ${p(edge)}`,
    p(price),
    p(edge),
  );
}

/** An order's size for a reason's message: its notional, and its worst-case loss when it opens risk. */
export function sizeText(notional: number, worstLoss: number | null): string {
  return `notional=${money(notional)}${worstLoss === null ? "" : ` worst-case loss=${money(worstLoss)}`}`;
}
