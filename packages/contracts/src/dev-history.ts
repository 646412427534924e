// Dev history (#18 item 5): `pnpm dev` records a past window of the seeded pairs' markets and books from the venue
// simulator, on a simulated clock, through ingestion's own fetch path and compliance gate, so a replay has hours of
// evidence within minutes of starting. Refused (fail closed) anywhere but the dev config.
import * as v from "valibot";
import { IntIn, Timestamp } from "./fields";

/** Ticks one call records at most: a call stays bounded (the caller walks a longer window call by call). */
export const MAX_HISTORY_TICKS = 30;

/** `POST /admin/ingestion/history`: record the tradable pairs at each tick of [from, to), `stepMs` apart. */
export const HistoryRecordRequest = v.pipe(
  v.strictObject({
    from: Timestamp,
    to: Timestamp,
    /** Simulated time between ticks (10 s to 1 h). */
    stepMs: IntIn(10_000, 3_600_000),
  }),
  v.check((r) => Date.parse(r.from) < Date.parse(r.to), "from must be before to"),
  v.check(
    (r) => Math.ceil((Date.parse(r.to) - Date.parse(r.from)) / r.stepMs) <= MAX_HISTORY_TICKS,
    `one call records at most ${MAX_HISTORY_TICKS} ticks (walk a longer window call by call)`,
  ),
);
export type HistoryRecordRequest = v.InferOutput<typeof HistoryRecordRequest>;

/** What one call recorded. */
export interface HistoryRecordReport {
  ticks: number;
  /** Pairs recorded at each tick (tradable, both legs stored and allowed by the compliance gate). */
  pairs: number;
  /** Pairs left out: a leg not stored, or blocked by the gate. */
  skipped: number;
  /** Venue answers kept as evidence (and in the fetch log), and those not usable (non-2xx, undecodable). */
  fetches: number;
  failed: number;
  errors: Record<string, number>;
}
