// Evidence and the fetch log as the RPC serves them: a page of records, one object or several re-hashed (a read
// refused names why: no such object, or bytes that no longer hash to their name), the fetches of a window.
import {
  ErrorCode,
  type EvidenceObjects,
  type EvidenceQuery,
  type EvidenceRecord,
  err,
  type FetchLogPage,
  type FetchLogQuery,
  ok,
  type Result,
} from "@paulp/contracts";
import { type EvidenceRead, type EvidenceStore, readEvidence, readEvidenceObjects } from "./evidence";
import { type FetchLogKey, listFetches } from "./fetch-log";
import { listEvidenceRows } from "./market-queries";

/** A page of evidence records, newest first, after `after`. */
export function evidencePage(
  db: D1Database,
  q: EvidenceQuery,
  after: { fetchedAt: string; hash: string } | undefined,
): Promise<{ evidence: EvidenceRecord[]; next: { fetchedAt: string; hash: string } | null }> {
  return listEvidenceRows(db, { venue: q.venue, from: q.from, to: q.to, limit: q.limit ?? 100, after });
}

/** One object's bytes, re-hashed, with its record and sightings. */
export async function evidenceObject(
  store: EvidenceStore,
  hash: string,
): Promise<Result<Omit<Extract<EvidenceRead, { ok: true }>, "ok">>> {
  const r = await readEvidence(store, hash);
  if (!r.ok) return refused(r);
  return ok({
    bytes: r.bytes,
    contentType: r.contentType,
    venue: r.venue,
    url: r.url,
    sightings: r.sightings,
  });
}

/** Several objects' bytes (distinct hashes), re-hashed, as many as fit `budgetBytes`; the rest `remaining`. */
export async function evidenceObjects(
  store: EvidenceStore,
  hashes: readonly string[],
  budgetBytes: number,
): Promise<Result<EvidenceObjects>> {
  const r = await readEvidenceObjects(store, hashes, budgetBytes);
  if (!r.ok) return refused(r);
  return ok({ objects: r.objects, remaining: r.remaining });
}

function refused(r: { code: "not_found" | "integrity_broken"; message: string }): Result<never> {
  return err(r.code === "not_found" ? ErrorCode.notFound : ErrorCode.integrityBroken, r.message);
}

/** The fetches of the window [from, to) in fetch order, after `after`. */
export async function fetchLogPage(
  db: D1Database,
  q: FetchLogQuery,
  after: FetchLogKey | undefined,
): Promise<Omit<FetchLogPage, "cursor"> & { next: FetchLogKey | null }> {
  // The log holds ingestion's own timestamps (UTC, milliseconds): the window is compared in that form.
  const iso = (t: string) => new Date(Date.parse(t)).toISOString();
  return listFetches(db, { from: iso(q.from), to: iso(q.to), limit: q.limit ?? 500, after });
}
