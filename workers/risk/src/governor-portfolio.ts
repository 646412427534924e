import {
  ErrorCode,
  err,
  type FillOutcome,
  type FillReport,
  type MarkUpdate,
  ok,
  type Result,
} from "@paulp/contracts";
import {
  applyFillEverywhere,
  applyMarksEverywhere,
  type Evaluation,
  lossBreach,
  updateWatermarks,
  valuation,
} from "@paulp/risk-rules";
import {
  currentView,
  deleteKeys,
  FILL_ID_KEEP_MS,
  FILL_ID_PREFIX,
  type GovernorState,
  lossLimits,
  MARK_PREFIX,
  POSITION_PREFIX,
  portfolioRecord,
  putAll,
  RESERVATION_PREFIX,
  type StateChange,
} from "./governor-state";

// The portfolio's changes over the governor's state: fills and marks applied in memory and to the view, the
// watermarks moved and the loss limits checked, and only the keys that changed written. The clock is passed in.

/**
 * Apply fills to the portfolio, release the matching reservations, and keep the view up to date in O(1)
 * per fill (`shiftPosition`; rebuilt only when it cannot be updated exactly). After each fill the
 * watermarks move and the loss limits are checked, as if the fills had come one by one; the first breach
 * seen is returned. Only the keys that changed are written (position, fill id, portfolio totals, reservations).
 */
export async function applyFills(
  st: GovernorState,
  storage: DurableObjectStorage,
  fills: FillReport[],
  now: number,
): Promise<{ fills: FillOutcome[]; breach: Evaluation["breach"] }> {
  pruneFillIds(st, storage, now);
  const outcomes: FillOutcome[] = [];
  const writes: Record<string, unknown> = {};
  const deletes = new Set<string>();
  let breach: Evaluation["breach"] = null;
  const reservationsChanged = new Set<string>();
  let refused = 0;
  for (const fill of fills) {
    const effect = applyFillEverywhere(st.portfolio, st.orders.reservations, st.view, fill, now);
    st.view = effect.view;
    if (effect.error) {
      refused++;
      outcomes.push({ fillId: fill.fillId, applied: false, error: effect.error });
      continue;
    }
    outcomes.push({ fillId: fill.fillId, applied: effect.applied });
    for (const id of effect.changedReservations) reservationsChanged.add(id);
    if (effect.applied && effect.posKey) {
      const key = `${POSITION_PREFIX}${effect.posKey}`;
      const pos = st.portfolio.positions[effect.posKey];
      if (pos) {
        writes[key] = pos;
        deletes.delete(key);
      } else {
        delete writes[key];
        deletes.add(key);
      }
      writes[`${FILL_ID_PREFIX}${fill.fillId}`] = now;
    }
    breach ??= checkLoss(st, now);
  }
  // Nothing but refusals: nothing changed, nothing to write (as a refused single fill always was).
  if (refused === fills.length) return { fills: outcomes, breach: null };
  writes.portfolio = portfolioRecord(st.portfolio);
  for (const id of reservationsChanged) {
    const key = `${RESERVATION_PREFIX}${id}`;
    const r = st.orders.reservations[id];
    if (r) writes[key] = r;
    else deletes.add(key);
  }
  await putAll(storage, writes, [...deletes]);
  return { fills: outcomes, breach };
}

/** Move the watermarks to the current equity and check the loss limits against them. */
export function checkLoss(st: GovernorState, now: number): Evaluation["breach"] {
  const view = currentView(st);
  // The view's equity also counts reservations; the watermarks follow the filled portfolio (as before).
  const equity =
    view.equity !== null && view.unmarked.length === 0 ? view.equity : valuation(st.portfolio).equity;
  updateWatermarks(st.portfolio, equity, now);
  view.dayStartEquity = st.portfolio.dayStartEquity;
  view.highWaterMark = st.portfolio.highWaterMark;
  return lossBreach(view, lossLimits(st));
}

/** Forget fill ids applied longer ago than `FILL_ID_KEEP_MS`. */
function pruneFillIds(st: GovernorState, storage: DurableObjectStorage, now: number): void {
  const old: string[] = [];
  for (const [id, t] of Object.entries(st.portfolio.fillIds)) {
    if (t > now - FILL_ID_KEEP_MS) break;
    delete st.portfolio.fillIds[id];
    old.push(`${FILL_ID_PREFIX}${id}`);
  }
  void deleteKeys(storage, old);
}

/** Apply marks from ingestion; the view is revalued for the markets that changed only. */
export async function recordMarks(
  st: GovernorState,
  storage: DurableObjectStorage,
  marks: MarkUpdate[],
  now: number,
): Promise<Result<StateChange<{ applied: number }>>> {
  // The whole batch or nothing: one bad mark changes nothing (in memory or in storage).
  const effect = applyMarksEverywhere(st.portfolio, st.orders.reservations, st.view, marks);
  st.view = effect.view;
  if (effect.error) return err(ErrorCode.validationFailed, effect.error);
  if (effect.changed.length === 0) return ok({ value: { applied: 0 }, breach: null });
  return ok({
    value: { applied: effect.changed.length },
    breach: await afterChange(st, storage, now, effect.changed),
  });
}

/** Move the watermarks and check the loss limits after a change of marks or capital; persist what changed. */
export async function afterChange(
  st: GovernorState,
  storage: DurableObjectStorage,
  now: number,
  changedMarks: string[] = [],
): Promise<Evaluation["breach"]> {
  const breach = checkLoss(st, now);
  // The portfolio value without its marks, plus each changed mark under its own key (a put takes at most
  // 128 keys; the puts of one call are coalesced into one atomic write by the output gate).
  const marks = st.portfolio.marks;
  const writes: Record<string, unknown> = { portfolio: portfolioRecord(st.portfolio) };
  for (const key of new Set(changedMarks)) {
    writes[`${MARK_PREFIX}${key}`] = marks[key];
    if (Object.keys(writes).length === 128) {
      await storage.put({ ...writes });
      for (const k of Object.keys(writes)) delete writes[k];
    }
  }
  if (Object.keys(writes).length > 0) await storage.put(writes);
  return breach;
}
