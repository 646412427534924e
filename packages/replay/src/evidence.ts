// The replay's only input: evidence objects (raw bytes, named by their SHA-256) and the sightings that say when each
// was fetched and from where. Nothing is trusted: every object is hashed again before anything reads it, and a
// sighting that names bytes the set lacks, or falls outside the window, refuses the whole set by name.
import { type EvidenceSighting, type ReplayRefusal, ReplayRefusalCode } from "@paulp/contracts";
import { sha256Hex } from "@paulp/kit";

/** Evidence as exported: the objects by the hash they are filed under, and the sightings in any order. */
export interface EvidenceSet {
  objects: ReadonlyMap<string, Uint8Array>;
  sightings: readonly EvidenceSighting[];
}

/** A sighting whose bytes have been re-hashed, with its time in epoch ms. */
export interface VerifiedSighting extends EvidenceSighting {
  atMs: number;
  bytes: Uint8Array;
}

export type Timeline = { ok: true; sightings: VerifiedSighting[] } | { ok: false; refusal: ReplayRefusal };

/**
 * Every object re-hashed, then the sightings inside `[fromMs, toMs]` in the order they were fetched (by time; the
 * export's order breaks ties, so two runs over one file see one order).
 */
export async function verifiedTimeline(
  set: EvidenceSet,
  window: { fromMs: number; toMs: number },
): Promise<Timeline> {
  for (const [hash, bytes] of set.objects) {
    const actual = await sha256Hex(bytes);
    if (actual !== hash)
      return refuse(ReplayRefusalCode.hashMismatch, hash, `evidence ${hash}: its bytes hash to ${actual}`);
  }
  const sightings: VerifiedSighting[] = [];
  for (const s of set.sightings) {
    const bytes = set.objects.get(s.hash);
    if (!bytes)
      return refuse(ReplayRefusalCode.missing, s.hash, `evidence ${s.hash} is sighted but not in the set`);
    const atMs = Date.parse(s.fetchedAt);
    if (!Number.isFinite(atMs) || atMs < window.fromMs || atMs > window.toMs)
      return refuse(
        ReplayRefusalCode.outsideWindow,
        s.hash,
        `evidence ${s.hash} was fetched at ${s.fetchedAt}, outside the replay's window`,
      );
    sightings.push({ ...s, atMs, bytes });
  }
  // Array.prototype.sort is stable: equal times keep the export's order.
  sightings.sort((a, b) => a.atMs - b.atMs);
  return { ok: true, sightings };
}

/** The hashes a replay consumed, each once, sorted: the manifest's `evidence`. */
export function consumedHashes(sightings: readonly { hash: string }[]): string[] {
  return [...new Set(sightings.map((s) => s.hash))].sort();
}

function refuse(code: ReplayRefusal["code"], hash: string, message: string): Timeline {
  return { ok: false, refusal: { code, hash, message } };
}
