import type { ExecutionPosition, PositionDrift, Venue } from "@paulp/contracts";

/**
 * Drift per market between execution's live fills and a venue's positions (pure). Every market either side
 * knows is compared; a drift beyond `tolerance` contracts is returned.
 */
export function computeDrift(
  internal: readonly ExecutionPosition[],
  venue: readonly { venue: Venue; market: string; position: number }[],
  tolerance: number,
): { drifts: PositionDrift[]; markets: number } {
  const key = (v: string, m: string) => `${v}\u0000${m}`;
  const table = new Map<string, PositionDrift>();
  const entry = (v: Venue, market: string) => {
    const k = key(v, market);
    let e = table.get(k);
    if (!e) {
      e = { venue: v, market, internal: 0, venuePosition: 0, drift: 0 };
      table.set(k, e);
    }
    return e;
  };
  for (const p of internal) entry(p.venue, p.market).internal += p.position;
  for (const p of venue) entry(p.venue, p.market).venuePosition += p.position;
  const drifts: PositionDrift[] = [];
  for (const e of table.values()) {
    e.drift = e.venuePosition - e.internal;
    if (Math.abs(e.drift) > tolerance) drifts.push(e);
  }
  drifts.sort((a, b) => (a.venue + a.market < b.venue + b.market ? -1 : 1));
  return { drifts, markets: table.size };
}
