import type * as v from "valibot";

/**
 * Typed venue errors. `outcome_unknown` is the one that matters most: a write whose answer was lost (timeout,
 * network error, 5xx) may or may not have reached the venue, so the order must be looked up, never re-sent.
 */
export type VenueErrorKind =
  | "not_configured"
  | "auth"
  | "duplicate"
  | "rate_limited"
  | "rejected"
  | "not_found"
  | "unavailable"
  | "outcome_unknown"
  | "invalid_response"
  | "question_refused";

/** A venue call's failure. */
export interface VenueError {
  kind: VenueErrorKind;
  message: string;
  status?: number;
}

/** A venue call's outcome. */
export type VenueResult<T> = { ok: true; value: T } | { ok: false; error: VenueError };

/** One request to a venue, its answer parsed by `schema`: the call each venue's transport makes every request with. */
export type VenueRequest = <S extends v.GenericSchema>(
  method: string,
  path: string,
  schema: S,
  body?: unknown,
) => Promise<VenueResult<v.InferOutput<S>>>;

export const vok = <T>(value: T): VenueResult<T> => ({ ok: true, value });
export const verr = <T = never>(kind: VenueErrorKind, message: string, status?: number): VenueResult<T> => ({
  ok: false,
  error: status === undefined ? { kind, message } : { kind, message, status },
});

/** Classify an HTTP failure. `write` makes 5xx ambiguous: the venue may have applied it. */
export function classifyStatus(status: number, message: string, write: boolean): VenueError {
  if (status === 401 || status === 403) return { kind: "auth", message, status };
  if (status === 409) return { kind: "duplicate", message, status };
  if (status === 429) return { kind: "rate_limited", message, status };
  if (status === 404) return { kind: "not_found", message, status };
  // Kalshi's order_errors page: a 408, any 5xx or a dropped connection leaves a write's outcome unknown.
  if (status >= 500 || status === 408)
    return { kind: write ? "outcome_unknown" : "unavailable", message, status };
  return { kind: "rejected", message, status };
}

/** A thrown fetch (timeout, network, egress refusal) as a venue error. */
export function classifyThrown(error: unknown, write: boolean): VenueError {
  const e = error as Error;
  if (e?.name === "EgressDeniedError") return { kind: "not_configured", message: e.message };
  return {
    kind: write ? "outcome_unknown" : "unavailable",
    message: `${e?.name ?? "Error"}: ${e?.message ?? String(error)}`,
  };
}

/** Read an error body's message in either of the venues' shapes without trusting it. */
export async function errorMessage(res: Response): Promise<string> {
  const text = (await res.text().catch(() => "")).slice(0, 500);
  try {
    // Kalshi: `{ error: { code, message, details? } }`, a top-level `{ code, message }` for unparsable
    // bodies, or `{ error: "…" }` (429s and IBKR).
    const body = JSON.parse(text) as { code?: unknown; message?: unknown; error?: unknown };
    const nested = body.error as { code?: unknown; message?: unknown } | undefined;
    if (nested && typeof nested === "object" && typeof nested.message === "string")
      return typeof nested.code === "string" ? `${nested.code}: ${nested.message}` : nested.message;
    if (typeof body.message === "string")
      return typeof body.code === "string" ? `${body.code}: ${body.message}` : body.message;
    if (typeof body.error === "string") return body.error;
  } catch {}
  return text || `HTTP ${res.status}`;
}
