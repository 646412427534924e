// Evidence as ingestion serves it: the stored records, the fetch log (every fetch in order, what a replay reads)
// and the objects' bytes in batches (the evidence export).
import * as v from "valibot";
import { Sha256Hex, type Venue } from "./common";
import { IntIn, PageLimit, Text, Timestamp } from "./fields";

/** A venue as evidence names it: a lower-case name of up to 32 characters, not only the venues traded. */
export const VenueName = v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_-]{0,31}$/, "a venue name"));

/** Query for `listEvidence`: newest first, optionally one venue and a time window (`fetchedAt` in [from, to)). */
export const EvidenceQuery = v.object({
  venue: v.optional(VenueName),
  from: v.optional(Timestamp),
  to: v.optional(Timestamp),
  limit: v.optional(PageLimit),
  cursor: v.optional(Text(512)),
});
/** Query for `listEvidence`. */
export type EvidenceQuery = v.InferOutput<typeof EvidenceQuery>;

/** Most fetches one `listFetches` page holds. */
export const MAX_FETCH_LOG_PAGE = 1000;

/**
 * Query for `listFetches`: the fetches of the window [from, to) in fetch order, a page at a time (`cursor` is the
 * previous page's). A window that ended a minute ago or more is complete: a fetch is logged within seconds of it.
 */
export const FetchLogQuery = v.pipe(
  v.object({
    from: Timestamp,
    to: Timestamp,
    limit: v.optional(IntIn(1, MAX_FETCH_LOG_PAGE)),
    cursor: v.optional(Text(512)),
  }),
  v.check((q) => Date.parse(q.from) < Date.parse(q.to), "from must be before to"),
);
/** Query for `listFetches`. */
export type FetchLogQuery = v.InferOutput<typeof FetchLogQuery>;

/**
 * One fetch in ingestion's fetch log: the bytes `hash` names (in evidence) answered `url` with `status` at
 * `fetchedAt`. Identical bytes fetched twice are one evidence object and two fetches. Has every field of replay's
 * `EvidenceSighting`.
 */
export interface EvidenceFetch {
  hash: string;
  venue: Venue;
  url: string;
  status: number;
  fetchedAt: string;
}

/** A page of the fetch log: its fetches in order, the distinct evidence hashes they name, the next page's cursor. */
export interface FetchLogPage {
  fetches: EvidenceFetch[];
  /** Each evidence object this page's fetches name, once, in the order first fetched (the window's: their union). */
  hashes: string[];
  cursor: string | null;
}

/** Most evidence objects one `getEvidenceObjects` call may name. */
export const MAX_EVIDENCE_BATCH = 32;
/**
 * Most bytes one `getEvidenceObjects` answer carries: objects are added in the order asked until the next would pass
 * this (the first always fits: ingestion keeps no response over 8 MiB), and the rest are `remaining`.
 */
export const MAX_EVIDENCE_BATCH_BYTES = 16 * 1024 * 1024;

/** What `getEvidenceObjects` takes: 1 to `MAX_EVIDENCE_BATCH` evidence hashes. */
export const EvidenceObjectsQuery = v.pipe(
  v.array(Sha256Hex),
  v.minLength(1),
  v.maxLength(MAX_EVIDENCE_BATCH),
);

/** Raw evidence bytes by hash, each re-hashed by ingestion; `remaining`: asked for, left for the next call. */
export interface EvidenceObjects {
  objects: { hash: string; bytes: Uint8Array }[];
  remaining: string[];
}

/** One stored piece of evidence, without its bytes (`GET /admin/evidence/:hash` serves those). */
export interface EvidenceRecord {
  hash: string;
  venue: string;
  url: string;
  status: number;
  size: number;
  contentType: string;
  fetchedAt: string;
  lastSeenAt: string;
  /** `pending` until parsed, then `accepted` or `rejected` (with `rejectReason`). */
  parseStatus: string;
  rejectReason: string | null;
}
