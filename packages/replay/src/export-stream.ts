// Writing the evidence export (`GET /admin/evidence/export`) a piece at a time, over two ports: the fetch log of the
// window a page at a time, and the objects' bytes a bounded batch at a time. Nothing of the whole file is held: only
// the hashes already written (each object goes out once, before its first sighting). Every object is re-hashed on
// the way out; bytes that do not match their name stop the export before its trailer, so the file is refused.
import { type EvidenceSighting, MAX_EVIDENCE_BATCH } from "@paulp/contracts";
import { sha256Hex } from "@paulp/kit";
import { type ExportWindow, endLine, headerLine, objectLine, sightingLine } from "./export-file";

export interface ExportPorts {
  /** The next page of the window's fetch log after `cursor`, in fetch order, and the distinct hashes it names. */
  page(
    cursor: string | null,
  ): Promise<{ fetches: EvidenceSighting[]; hashes: string[]; cursor: string | null }>;
  /** Objects' bytes in the order asked; it may answer a prefix, the rest `remaining`. */
  objects(hashes: string[]): Promise<{ objects: { hash: string; bytes: Uint8Array }[]; remaining: string[] }>;
}

/** Why an export stopped before its trailer: an object that cannot be vouched for, or a log that does not add up. */
export class ExportBroken extends Error {
  override readonly name = "ExportBroken";
}

/** How far an export got (the trailer's counts once it completes). */
export interface ExportCounts {
  objects: number;
  sightings: number;
}

/**
 * The export of `window` as chunks of whole lines: the header, then per page of the fetch log its new objects and its
 * sightings, then the trailer. Throws `ExportBroken` (after the lines already yielded, never a trailer) when an
 * object's bytes do not hash to its name or the ports answer something other than what was asked.
 */
export async function* exportChunks(
  ports: ExportPorts,
  window: ExportWindow,
  exportedAt: string,
  counts: ExportCounts = { objects: 0, sightings: 0 },
): AsyncGenerator<string, void, undefined> {
  yield headerLine(window, exportedAt);
  const written = new Set<string>();
  let cursor: string | null = null;
  do {
    const page = await ports.page(cursor);
    // The page's own list of hashes is not trusted to be complete: every fetch's object is written before it.
    let wanted = [...new Set([...page.hashes, ...page.fetches.map((f) => f.hash)])].filter(
      (h) => !written.has(h),
    );
    while (wanted.length > 0) {
      const asked = wanted.slice(0, MAX_EVIDENCE_BATCH);
      const answer = await ports.objects(asked);
      const answered = answer.objects.length;
      if (
        answered === 0 ||
        answer.objects.some((o, i) => o.hash !== asked[i]) ||
        answer.remaining.join() !== asked.slice(answered).join()
      ) {
        throw new ExportBroken(`the evidence store did not answer the objects asked for (${asked[0]}…)`);
      }
      let chunk = "";
      for (const { hash, bytes } of answer.objects) {
        const actual = await sha256Hex(bytes);
        if (actual !== hash) throw new ExportBroken(`evidence ${hash} re-hashes to ${actual}`);
        chunk += objectLine(hash, bytes);
        written.add(hash);
        counts.objects++;
      }
      yield chunk;
      wanted = wanted.slice(answered);
    }
    let chunk = "";
    for (const f of page.fetches) {
      chunk += sightingLine({
        hash: f.hash,
        venue: f.venue,
        url: f.url,
        fetchedAt: f.fetchedAt,
        ...(f.status === undefined ? {} : { status: f.status }),
      });
      counts.sightings++;
    }
    if (chunk !== "") yield chunk;
    cursor = page.cursor;
  } while (cursor !== null);
  yield endLine(counts.objects, counts.sightings);
}

/** A file name for the export of `window`: `paulp-evidence-20261201T000000Z-20261201T010000Z.ndjson`. */
export function exportFileName(window: ExportWindow): string {
  const stamp = (iso: string) =>
    new Date(iso)
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z")
      .replace(/[-:]/g, "");
  return `paulp-evidence-${stamp(window.from)}-${stamp(window.to)}.ndjson`;
}
