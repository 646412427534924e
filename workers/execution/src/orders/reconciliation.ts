import { ok, type Principal, type ReconciliationReport, type Result, type Venue } from "@paulp/contracts";
import { rpc } from "@paulp/kit";
import { computeDrift, expectedPositions, joinExpected } from "../reconcile";
import { audit, clients, type OrderDesk, RPC_TIMEOUT_MS, reportVenueFailure, toVenue } from "./desk";
import { resolveUnknown } from "./recovery";

/** What execution expects each live market's venue position to be, now. */
function expectedNow(desk: OrderDesk) {
  return expectedPositions(
    desk.store.positions().filter((p) => p.mode === "live"),
    desk.store.inFlight(),
  );
}

/**
 * Compare our live positions (fills, with orders in flight as a range) with each venue's, report each drift
 * past the tolerance to the breaker, audit the report and keep it as the last reconciliation.
 */
export async function reconcile(
  desk: OrderDesk,
  actor: Principal,
  tolerance: number,
): Promise<Result<ReconciliationReport>> {
  await resolveUnknown(desk, actor);
  const { kalshi, ibkr } = clients(desk, actor);
  const venues: ReconciliationReport["venues"] = [];
  const venuePositions: { venue: Venue; market: string; position: number }[] = [];
  const checked = new Set<Venue>();
  // Read before and after the venues answer: an order sent or filled meanwhile may or may not be in their figures.
  const before = expectedNow(desk);
  for (const [venue, client] of [
    ["kalshi", kalshi],
    ["ibkr", ibkr],
  ] as const) {
    const r = await toVenue(desk, venue, () => client.positions());
    if (r.ok) {
      checked.add(venue);
      venues.push({ venue, status: "ok" });
      for (const p of r.value) venuePositions.push({ venue, ...p });
    } else if (r.error.kind === "not_configured") {
      venues.push({ venue, status: "not_configured", detail: r.error.message });
    } else {
      venues.push({ venue, status: "unavailable", detail: `${r.error.kind}: ${r.error.message}` });
      // A 429 was counted where it happened (or nothing was sent during a backoff).
      if (r.error.kind !== "rate_limited")
        await reportVenueFailure(desk, `reconciliation: ${venue} positions: ${r.error.message}`, actor);
    }
  }
  const expected = new Map(
    [...joinExpected(before, expectedNow(desk))].filter(([, e]) => checked.has(e.venue)),
  );
  const inFlight = [...expected.values()].reduce((n, e) => n + e.inFlight, 0);
  const { drifts, markets } = computeDrift(expected, venuePositions, tolerance);
  let reported = 0;
  for (const d of drifts) {
    const range = d.inFlight ? ` expected=${d.expectedMin}..${d.expectedMax} (${d.inFlight} in flight)` : "";
    const detail = `${d.venue}:${d.market} internal=${d.internal}${range} venue=${d.venuePosition} drift=${d.drift} tolerance=${tolerance}`;
    const res = await rpc(
      desk.env.RISK,
      (risk) => risk.reportFailure("reconciliation_drift", detail, actor),
      {
        what: "reportFailure",
        timeoutMs: RPC_TIMEOUT_MS,
      },
    );
    if (res.ok) reported++;
  }
  const found = {
    at: new Date(desk.now()).toISOString(),
    tolerance,
    venues,
    markets,
    drifts,
    reported,
    inFlight,
  };
  const audited = await audit(desk, "execution.reconciliation", actor, found);
  if (!audited.ok) return audited;
  const report: ReconciliationReport = {
    ...found,
    auditSeq: audited.value.seq,
    auditHash: audited.value.hash,
  };
  desk.store.saveReconciliation(report);
  return ok(report);
}
