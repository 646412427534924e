import type { ChainStore, EntryRow } from "./chain-store";

/** Most bytes of entry lines in one export page. */
export const EXPORT_PAGE_MAX_BYTES = 8 * 1024 * 1024;

/**
 * One page of an export: up to `limit` entries after `afterSeq` up to `maxSeq` (the head the export started
 * at, so it is one consistent snapshot), and at most EXPORT_PAGE_MAX_BYTES of them (at least one).
 */
export function exportPage(store: ChainStore, afterSeq: number, maxSeq: number, limit: number): EntryRow[] {
  const rows: EntryRow[] = [];
  let size = 0;
  for (const r of store.entriesPage(afterSeq, maxSeq, limit)) {
    if (rows.length > 0 && size + r.body.length > EXPORT_PAGE_MAX_BYTES) break;
    rows.push({ seq: r.seq, body: r.body });
    size += r.body.length;
  }
  return rows;
}
