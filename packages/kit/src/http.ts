import {
  type ApiError,
  ErrorCode,
  HTTP_STATUS_FOR_CODE,
  MAX_JSON_DEPTH,
  type Result,
} from "@paulp/contracts";
import * as v from "valibot";

/** An error that carries its HTTP status and envelope code; thrown inside handlers, mapped by `errorResponse`. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

/** A JSON response with no-store caching (admin data must never be cached by an edge). */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

/** The error envelope `{ "error": { "code", "message" } }`. */
export function errorJson(status: number, error: ApiError, headers: Record<string, string> = {}): Response {
  return json({ error }, status, headers);
}

/** Maps anything thrown in a handler to the envelope; unknown errors become a 500 without internals. */
export function errorResponse(error: unknown): Response {
  if (error instanceof HttpError) {
    const body: ApiError = { code: error.code, message: error.message };
    if (error.details !== undefined) body.details = error.details;
    return errorJson(error.status, body, error.headers);
  }
  return errorJson(500, { code: ErrorCode.internal, message: "internal error" });
}

/** The HTTP status for an RPC failure's code; upstream 5xx become 502. */
export function statusForError(error: ApiError): number {
  return HTTP_STATUS_FOR_CODE[error.code] ?? 500;
}

/** Turn an RPC result into a response: the value on success, the envelope with a mapped status otherwise. */
export function resultResponse<T>(result: Result<T>, successStatus = 200): Response {
  if (result.ok) return json(result.value, successStatus);
  return errorJson(statusForError(result.error), result.error);
}

/** Unwrap a result or throw it as an HttpError (for handler code). */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw new HttpError(
    statusForError(result.error),
    result.error.code,
    result.error.message,
    result.error.details,
  );
}

/** Describe valibot issues as `field: message` for a 400, naming the field at fault. */
export function describeIssues(
  issues: readonly v.BaseIssue<unknown>[],
): { field: string; message: string }[] {
  return issues.map((issue) => ({ field: v.getDotPath(issue) ?? "(body)", message: issue.message }));
}

/** Validate a value against a schema, throwing a 400 `validation_failed` naming the fields at fault. */
export function parseOr400<const S extends v.GenericSchema>(schema: S, value: unknown): v.InferOutput<S> {
  const parsed = v.safeParse(schema, value);
  if (parsed.success) return parsed.output;
  const issues = describeIssues(parsed.issues);
  const first = issues[0]!;
  throw new HttpError(400, ErrorCode.validationFailed, `${first.field}: ${first.message}`, { issues });
}

/**
 * Read a body up to `max` bytes; null when it is larger (the stream is cancelled). A byte stream (every body workerd
 * hands over) is read into one growing buffer, as much as it holds at each read: the default reader hands a large
 * body over in 4 KiB chunks, hundreds of reads and copies for a 1.5 MB venue page (a quarter of the page's decode).
 */
export async function readBounded(
  body: ReadableStream<Uint8Array> | null,
  max: number,
): Promise<Uint8Array | null> {
  if (!body) return new Uint8Array();
  let reader: ReadableStreamBYOBReader;
  try {
    reader = body.getReader({ mode: "byob" });
  } catch {
    return readChunks(body, max);
  }
  // One byte more than `max` fits, so an oversized body is known without reading past it.
  let buffer = new Uint8Array(Math.min(max + 1, 64 * 1024));
  let size = 0;
  for (;;) {
    if (size === buffer.byteLength) {
      if (size > max) {
        await reader.cancel().catch(() => {});
        return null;
      }
      const grown = new Uint8Array(Math.min(max + 1, buffer.byteLength * 2));
      grown.set(buffer);
      buffer = grown;
    }
    const { done, value } = await reader.read(buffer.subarray(size));
    // The read takes the buffer over and hands it back in `value` (at `size`, holding what it filled).
    if (value) buffer = new Uint8Array(value.buffer);
    if (done) break;
    size += value.byteLength;
  }
  return size > max ? null : buffer.subarray(0, size);
}

/** readBounded for a stream that is not a byte stream: chunk by chunk. */
async function readChunks(body: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array | null> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

/**
 * True when JSON text nests arrays or objects deeper than `max`, decided in one pass over the text before it
 * is parsed (strings skipped, nothing built, no recursion). Invalid JSON is left for the parser to refuse.
 * A string is skipped with `indexOf` to its closing quote (one not escaped: an even run of backslashes before
 * it) rather than character by character: most of a venue's answer is string, and this runs on every page.
 */
export function jsonTextNestsDeeperThan(text: string, max: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (;;) {
        const close = text.indexOf('"', i + 1);
        if (close < 0) return false; // unterminated: the parser refuses it
        let b = close - 1;
        while (text.charCodeAt(b) === 0x5c) b--;
        i = close;
        if ((close - 1 - b) % 2 === 0) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * Read a JSON body (bounded in bytes, never buffered past the bound) and validate it; bad JSON, or JSON
 * nesting deeper than MAX_JSON_DEPTH, → 400 `invalid_json`; too large → 413.
 */
export async function readJsonBody<const S extends v.GenericSchema>(
  request: Request,
  schema: S,
  maxBytes = 256 * 1024,
): Promise<v.InferOutput<S>> {
  const tooLarge = () => new HttpError(413, ErrorCode.badRequest, `body exceeds ${maxBytes} bytes`);
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw tooLarge();
  const bytes = await readBounded(request.body, maxBytes);
  if (bytes === null) throw tooLarge();
  const text = new TextDecoder().decode(bytes);
  // Deep nesting is refused before parsing: what follows (valibot, RPC serialisation, canonical hashing) recurses.
  if (jsonTextNestsDeeperThan(text)) {
    throw new HttpError(400, ErrorCode.invalidJson, `body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  let value: unknown;
  try {
    value = text.length === 0 ? undefined : JSON.parse(text);
  } catch {
    throw new HttpError(400, ErrorCode.invalidJson, "body is not valid JSON");
  }
  return parseOr400(schema, value);
}

/** Validate an RPC input; returns a failure result instead of throwing across the binding. */
export function parseInput<const S extends v.GenericSchema>(
  schema: S,
  value: unknown,
): Result<v.InferOutput<S>> {
  const parsed = v.safeParse(schema, value);
  if (parsed.success) return { ok: true, value: parsed.output };
  const issues = describeIssues(parsed.issues);
  return {
    ok: false,
    error: {
      code: ErrorCode.validationFailed,
      message: `${issues[0]!.field}: ${issues[0]!.message}`,
      details: { issues },
    },
  };
}

/** The parsed outputs of an argument tuple's schemas, position by position. */
export type ParsedArgs<S extends readonly v.GenericSchema[]> = {
  -readonly [K in keyof S]: v.InferOutput<S[K]>;
};

/**
 * Validate an RPC method's arguments, one schema per position, in order: the first failure is the answer
 * (as `parseInput` words it), so an entrypoint method opens with one line instead of a parse per argument.
 */
export function parseArgs<const S extends readonly v.GenericSchema[]>(
  schemas: S,
  args: { [K in keyof S]: unknown },
): Result<ParsedArgs<S>> {
  const values: unknown[] = [];
  for (const [i, schema] of schemas.entries()) {
    const parsed = parseInput(schema, args[i]);
    if (!parsed.ok) return parsed;
    values.push(parsed.value);
  }
  return { ok: true, value: values as ParsedArgs<S> };
}
