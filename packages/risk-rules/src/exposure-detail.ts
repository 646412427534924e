import type { ExposureCategory, ExposurePosition } from "@paulp/contracts";
import { formatDollars, formatPct, mulDiv, notional, quantityNumber, ratioPct } from "@paulp/kit";
import { marketKey, type PortfolioState } from "./portfolio";
import type { RiskView } from "./view";

/**
 * What the console shows beside the limits: every open position valued at its mark (with the mark's age, flagged
 * stale past the mark-age limit) and the gross exposure per category. Read-only; nothing here decides anything.
 * Units are the money module's: micros, hundredths of a contract.
 */
export function exposureDetail(
  portfolio: PortfolioState,
  view: RiskView,
  maxMarkAgeMs: number,
  nowMs: number,
): { positions: ExposurePosition[]; categories: ExposureCategory[] } {
  const positions: ExposurePosition[] = [];
  for (const p of Object.values(portfolio.positions)) {
    if (p.qty === 0) continue;
    const mark = portfolio.marks[marketKey(p.venue, p.market)];
    const price = mark?.price ?? null;
    const ageMs = mark ? nowMs - mark.observedAtMs : null;
    positions.push({
      strategyId: p.strategyId,
      venue: p.venue,
      market: p.market,
      quantity: quantityNumber(p.qty),
      // Per contract (cost and quantity share their sign; a short is priced like a long). Prices to the 1/10,000,
      // money to the cent.
      avgPrice: formatDollars(mulDiv(Math.abs(p.cost), 100, Math.abs(p.qty), "half-up")),
      mark: price === null ? null : formatDollars(price),
      markAt: mark ? new Date(mark.observedAtMs).toISOString() : null,
      markAgeSeconds: ageMs === null ? null : Math.floor(ageMs / 1000),
      stale: price === null || ageMs === null || ageMs > maxMarkAgeMs,
      unrealisedPnl: price === null ? null : formatDollars(notional(p.qty, price) - p.cost, 2),
      category: mark?.category ?? null,
      markEvidenceHash: mark?.evidenceHash ?? null,
    });
  }
  positions.sort((a, b) => `${a.venue}:${a.market}`.localeCompare(`${b.venue}:${b.market}`));
  const categories: ExposureCategory[] = [...view.categoryExposure]
    .filter(([, units]) => units > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([category, units]) => {
      const pct = view.equity === null ? null : ratioPct(units, view.equity);
      return {
        category,
        exposure: formatDollars(units, 2),
        pctOfEquity: pct === null ? "unknown" : formatPct(pct),
      };
    });
  return { positions, categories };
}
