import type { ExposureCategory, ExposurePosition } from "@paulp/contracts";
import { formatMoney, formatPct, formatUnits, ratioPctUnits } from "./decimal";
import type { RiskView } from "./evaluate";
import { marketKey, type PortfolioState } from "./portfolio";

/**
 * What the console shows beside the limits: every open position valued at its mark (with the mark's age, flagged
 * stale past the mark-age limit) and the gross exposure per category. Read-only; nothing here decides anything.
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
      quantity: p.qty,
      // Prices to the 1/10,000 (a contract's price); money to the cent.
      avgPrice: formatUnits(Math.round(p.cost / p.qty)),
      mark: price === null ? null : formatUnits(price),
      markAt: mark ? new Date(mark.observedAtMs).toISOString() : null,
      markAgeSeconds: ageMs === null ? null : Math.floor(ageMs / 1000),
      stale: price === null || ageMs === null || ageMs > maxMarkAgeMs,
      unrealisedPnl: price === null ? null : formatMoney(p.qty * price - p.cost),
      category: mark?.category ?? null,
      markEvidenceHash: mark?.evidenceHash ?? null,
    });
  }
  positions.sort((a, b) => `${a.venue}:${a.market}`.localeCompare(`${b.venue}:${b.market}`));
  const categories: ExposureCategory[] = [...view.categoryExposure]
    .filter(([, units]) => units > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([category, units]) => {
      const pct = view.equity === null ? null : ratioPctUnits(units, view.equity);
      return {
        category,
        exposure: formatMoney(units),
        pctOfEquity: pct === null ? "unknown" : formatPct(pct),
      };
    });
  return { positions, categories };
}
