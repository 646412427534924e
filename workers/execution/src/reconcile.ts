import type { ExecutionPosition, PositionDrift, Venue } from "@paulp/contracts";

/** A live order that may be at the venue with its outcome not known yet: what is left of it may fill. */
export interface InFlightOrder {
  venue: Venue;
  market: string;
  side: "buy" | "sell";
  /** Contracts not filled yet as far as execution knows. */
  remaining: number;
}

/** What execution expects one market's venue position to be: a range while orders are in flight. */
export interface Expected {
  venue: Venue;
  market: string;
  internal: number;
  min: number;
  max: number;
  inFlight: number;
}

const key = (v: string, m: string) => `${v}\u0000${m}`;

/**
 * The expected venue position per market from execution's live fills and its in-flight orders (pure): each
 * in-flight buy may add up to its remainder, each sell take it away.
 */
export function expectedPositions(
  internal: readonly ExecutionPosition[],
  inFlight: readonly InFlightOrder[],
): Map<string, Expected> {
  const table = new Map<string, Expected>();
  const entry = (venue: Venue, market: string) => {
    const k = key(venue, market);
    let e = table.get(k);
    if (!e) {
      e = { venue, market, internal: 0, min: 0, max: 0, inFlight: 0 };
      table.set(k, e);
    }
    return e;
  };
  for (const p of internal) {
    const e = entry(p.venue, p.market);
    e.internal += p.position;
    e.min += p.position;
    e.max += p.position;
  }
  for (const o of inFlight) {
    const e = entry(o.venue, o.market);
    e.inFlight++;
    if (o.side === "buy") e.max += o.remaining;
    else e.min -= o.remaining;
  }
  return table;
}

/**
 * Two readings of the expectation, taken before and after the venue's positions were read, joined: an order
 * that filled (or was sent) while the venue answered may be in the venue's figure or not, so both are expected.
 * `internal` is the later reading.
 */
export function joinExpected(
  before: Map<string, Expected>,
  after: Map<string, Expected>,
): Map<string, Expected> {
  const out = new Map(after);
  for (const [k, b] of before) {
    const a = out.get(k);
    out.set(
      k,
      a
        ? {
            ...a,
            min: Math.min(a.min, b.min),
            max: Math.max(a.max, b.max),
            inFlight: Math.max(a.inFlight, b.inFlight),
          }
        : { ...b, internal: 0, min: Math.min(0, b.min), max: Math.max(0, b.max) },
    );
  }
  return out;
}

/**
 * Drift per market between what execution expects and a venue's positions (pure). Every market either side
 * knows is compared; a venue position further than `tolerance` contracts outside the expected range is a drift,
 * measured from the nearer end of the range.
 */
export function computeDrift(
  expected: ReadonlyMap<string, Expected>,
  venue: readonly { venue: Venue; market: string; position: number }[],
  tolerance: number,
): { drifts: PositionDrift[]; markets: number } {
  const table = new Map<string, Expected & { venuePosition: number }>();
  for (const [k, e] of expected) table.set(k, { ...e, venuePosition: 0 });
  for (const p of venue) {
    const k = key(p.venue, p.market);
    const e = table.get(k) ?? {
      venue: p.venue,
      market: p.market,
      internal: 0,
      min: 0,
      max: 0,
      inFlight: 0,
      venuePosition: 0,
    };
    e.venuePosition += p.position;
    table.set(k, e);
  }
  const drifts: PositionDrift[] = [];
  for (const e of table.values()) {
    const drift =
      e.venuePosition < e.min
        ? e.venuePosition - e.min
        : e.venuePosition > e.max
          ? e.venuePosition - e.max
          : 0;
    if (Math.abs(drift) > tolerance)
      drifts.push({
        venue: e.venue,
        market: e.market,
        internal: e.internal,
        venuePosition: e.venuePosition,
        drift,
        expectedMin: e.min,
        expectedMax: e.max,
        inFlight: e.inFlight,
      });
  }
  drifts.sort((a, b) => (a.venue + a.market < b.venue + b.market ? -1 : 1));
  return { drifts, markets: table.size };
}
