// Opaque page cursors: the base64 of the last key's JSON, checked against the key's schema when it comes back.
import { ErrorCode, err, ok, type Result } from "@paulp/contracts";
import { parseInput, type RpcOptions, rpc } from "@paulp/kit";
import * as v from "valibot";

/** The key of a markets page: the last (venue, market id) listed. */
export const MarketsCursor = v.object({ venue: v.string(), marketId: v.string() });
/** The key of an evidence page: the last (fetched at, hash) listed. */
export const EvidenceCursor = v.object({ fetchedAt: v.string(), hash: v.string() });
/** The key of a fetch-log page: the last (fetched at, log id) listed. */
export const FetchLogCursor = v.object({ fetchedAt: v.string(), id: v.pipe(v.number(), v.integer()) });

/** The cursor of the page after the one whose last key is `next` (null: no further page). */
export function encodeCursor(next: object | null): string | null {
  return next ? btoa(JSON.stringify(next)) : null;
}

/** The key a cursor carries (undefined when none is given); one that does not decode is `validation_failed`. */
export function decodeCursor<S extends v.GenericSchema>(
  schema: S,
  cursor: string | undefined,
): Result<v.InferOutput<S> | undefined> {
  if (!cursor) return { ok: true, value: undefined };
  try {
    return { ok: true, value: v.parse(schema, JSON.parse(atob(cursor)) as unknown) };
  } catch {
    return err(ErrorCode.validationFailed, "cursor: invalid");
  }
}

/**
 * A page's query checked against its schema and its cursor decoded: `after` is the key the page starts after
 * (undefined for the first page). The first failure is the answer.
 */
export function pageQuery<Q extends v.GenericSchema, C extends v.GenericSchema>(
  querySchema: Q,
  cursorSchema: C,
  query: unknown,
): Result<{ q: v.InferOutput<Q>; after: v.InferOutput<C> | undefined }> {
  const q = parseInput(querySchema, query ?? {});
  if (!q.ok) return q;
  const after = decodeCursor(cursorSchema, (q.value as { cursor?: string }).cursor);
  return after.ok ? ok({ q: q.value, after: after.value }) : after;
}

/**
 * One page answered: the query checked and its cursor decoded (`pageQuery`; the first failure is the answer),
 * `load` run on them (guarded as `rpc` guards a provider's own work), and the page's `next` key handed back as
 * the cursor of the page after it.
 */
export async function answerPage<
  Q extends v.GenericSchema,
  C extends v.GenericSchema,
  P extends { next: object | null },
>(
  keys: { query: Q; cursor: C },
  query: unknown,
  options: RpcOptions,
  load: (q: v.InferOutput<Q>, after: v.InferOutput<C> | undefined) => Promise<Result<P>>,
): Promise<Result<Omit<P, "next"> & { cursor: string | null }>> {
  const asked = pageQuery(keys.query, keys.cursor, query);
  if (!asked.ok) return asked;
  return rpc(async () => {
    const page = await load(asked.value.q, asked.value.after);
    if (!page.ok) return page;
    const { next, ...rows } = page.value;
    return ok({ ...rows, cursor: encodeCursor(next) });
  }, options);
}
