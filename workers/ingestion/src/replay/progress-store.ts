// A run's progress in its Durable Object's storage. The engine's state grows with the window (every market's mark,
// category and event; the curve; the trades) past what one stored value may hold, so it is kept as JSON in chunks
// beside a small head; a save writes the new chunks, then the head, then drops chunks the head no longer names.
import type { RunProgress } from "./step";

/** Characters a chunk holds (a stored value is limited to about 2 MB; UTF-8 takes at most 3 bytes a character). */
const CHUNK_CHARS = 256 * 1024;
/** Keys one `put` or `delete` may take. */
const KEYS_PER_CALL = 128;

type Head = Omit<RunProgress<unknown>, "state"> & { chunks: number };

const chunkKey = (i: number) => `progress:state:${String(i).padStart(6, "0")}`;

export async function saveProgress(
  storage: DurableObjectStorage,
  progress: RunProgress<unknown>,
): Promise<void> {
  const { state, ...rest } = progress;
  const text = JSON.stringify(state);
  const chunks = Math.max(1, Math.ceil(text.length / CHUNK_CHARS));
  const old = (await storage.get<Head>("progress:head"))?.chunks ?? 0;
  const entries = Array.from({ length: chunks }, (_, i) => [
    chunkKey(i),
    text.slice(i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS),
  ]);
  for (let i = 0; i < entries.length; i += KEYS_PER_CALL) {
    await storage.put(Object.fromEntries(entries.slice(i, i + KEYS_PER_CALL)));
  }
  await storage.put("progress:head", { ...rest, chunks } satisfies Head);
  const stale = Array.from({ length: Math.max(0, old - chunks) }, (_, i) => chunkKey(chunks + i));
  for (let i = 0; i < stale.length; i += KEYS_PER_CALL)
    await storage.delete(stale.slice(i, i + KEYS_PER_CALL));
}

export async function loadProgress(storage: DurableObjectStorage): Promise<RunProgress<unknown> | null> {
  const head = await storage.get<Head>("progress:head");
  if (!head) return null;
  const keys = Array.from({ length: head.chunks }, (_, i) => chunkKey(i));
  let text = "";
  for (let i = 0; i < keys.length; i += KEYS_PER_CALL) {
    const got = await storage.get<string>(keys.slice(i, i + KEYS_PER_CALL));
    for (const k of keys.slice(i, i + KEYS_PER_CALL)) {
      const part = got.get(k);
      if (part === undefined) throw new Error(`replay progress: chunk ${k} is missing`);
      text += part;
    }
  }
  const { chunks: _chunks, ...rest } = head;
  return { ...rest, state: JSON.parse(text) as unknown };
}

/** Steps and sightings so far, without reading the state. */
export async function progressHead(
  storage: DurableObjectStorage,
): Promise<{ steps: number; sightings: number } | null> {
  const head = await storage.get<Head>("progress:head");
  return head ? { steps: head.steps, sightings: head.sightings } : null;
}
