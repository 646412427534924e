import { ErrorCode } from "@paulp/contracts";
import { rpc } from "@paulp/kit";
import { auditMany, type OrderDesk, RPC_TIMEOUT_MS } from "./desk";

/**
 * The outbox pushes fills this long after the first one is stored, so a busy second sends them together
 * (one `recordFills`, one risk turn) instead of one risk call per fill competing with the next order.
 */
export const FILL_PUSH_DELAY_MS = 200;
/** The outbox's retry period: the alarm pushes unreported fills again this long after a failed push. */
export const FILL_RETRY_MS = 5_000;
/** Fills per `recordFills` call (risk's `MAX_FILLS_PER_BATCH`). */
const FILL_BATCH = 100;

/**
 * One run of the outbox: fills reach risk, then ended orders (after every fill is in, so risk releases what
 * they still reserve), then audit facts held back by a failed append. An order's answer never waits on the
 * portfolio update: risk counts a submitted order's exposure until it ends, so the lag of a push cannot open
 * room past its limits. Answers how many items are left for the next run.
 */
export async function drainOutbox(desk: OrderDesk): Promise<number> {
  while (await pushFills(desk)) {}
  const fillsLeft = desk.store.countUnreportedFills();
  // An ended order only once its own fills are in: releasing first would under-count the filled part.
  while (await pushEnded(desk)) {}
  const auditsLeft = await flushHeldAudits(desk);
  return fillsLeft + auditsLeft + desk.store.countEnded();
}

/**
 * Push every fill not yet reported to risk now, rather than at the alarm: a hedge's effect (open, increase, reduce,
 * close) follows from the position this store counts, and risk judges it against the fills it holds. Answers how
 * many are still unreported (risk not answering).
 */
export async function reportFillsNow(desk: OrderDesk): Promise<number> {
  while (await pushFills(desk)) {}
  return desk.store.countUnreportedFills();
}

/**
 * Push unreported fills to risk in batches (`recordFills`); a fill risk did not accept stays for the next
 * run (risk dedups by fillId). Answers whether another batch may be waiting. If the batch call itself fails
 * (one malformed fill refuses the whole batch), each fill is tried alone (`recordFills([fill])`) so the others
 * still get in, stopping at the first call risk does not answer.
 */
async function pushFills(desk: OrderDesk): Promise<boolean> {
  const fills = desk.store.unreportedFills(FILL_BATCH);
  if (fills.length === 0) return false;
  const accepted: string[] = [];
  const batch = await rpc(desk.env.RISK, (risk) => risk.recordFills(fills), {
    what: "recordFills",
    timeoutMs: RPC_TIMEOUT_MS,
  });
  if (batch.ok) {
    for (const o of batch.value.fills) if (!o.error) accepted.push(o.fillId);
  } else {
    for (const fill of fills) {
      const res = await rpc(desk.env.RISK, (risk) => risk.recordFills([fill]), {
        what: "recordFills",
        timeoutMs: RPC_TIMEOUT_MS,
      });
      if (res.ok) {
        if (!res.value.fills[0]?.error) accepted.push(fill.fillId);
      } else if (res.error.code === ErrorCode.serviceUnavailable) break;
    }
  }
  desk.store.markReported(accepted);
  // A full batch all accepted: more may be waiting.
  return fills.length === FILL_BATCH && accepted.length === FILL_BATCH;
}

/** Tell risk which orders ended (`releaseReservations`); answers whether another batch may be waiting. */
async function pushEnded(desk: OrderDesk): Promise<boolean> {
  const coids = desk.store.endedReady(FILL_BATCH);
  if (coids.length === 0) return false;
  const res = await rpc(desk.env.RISK, (risk) => risk.releaseReservations(coids), {
    what: "releaseReservations",
    timeoutMs: RPC_TIMEOUT_MS,
  });
  if (!res.ok) return false; // kept for the next run
  desk.store.forgetEnded(coids);
  return coids.length === FILL_BATCH;
}

/**
 * Append the held facts in order, up to 100 at a time; answers how many are left. One flush at a time per desk (the
 * alarm's and an inline one share it): two at once would append the same facts twice.
 */
export function flushHeldAudits(desk: OrderDesk): Promise<number> {
  desk.flushingHeld ??= appendHeld(desk).finally(() => {
    desk.flushingHeld = null;
  });
  return desk.flushingHeld;
}

async function appendHeld(desk: OrderDesk): Promise<number> {
  const held = desk.store.heldAudits(100);
  if (held.length > 0) {
    const appended = await auditMany(
      desk,
      held.map((h) => h.event),
    );
    if (appended.ok) desk.store.dropHeldAuditsThrough(held.at(-1)!.id);
  }
  return desk.store.countHeldAudits();
}
