import type { Env } from "./env";

/** The desk's timing, read from vars; anything unparsable fails closed (no request can open or pass). */
export interface DeskConfig {
  ttlMs: number;
  executeWindowMs: number;
}

/** Parse the desk's vars; null when either is missing or not a positive whole number of seconds. */
export function deskConfig(
  env: Pick<Env, "APPROVAL_TTL_SECONDS" | "EXECUTE_WINDOW_SECONDS">,
): DeskConfig | null {
  const ttl = positiveSeconds(env.APPROVAL_TTL_SECONDS);
  const window = positiveSeconds(env.EXECUTE_WINDOW_SECONDS);
  if (ttl === null || window === null) return null;
  return { ttlMs: ttl * 1000, executeWindowMs: window * 1000 };
}

function positiveSeconds(raw: string | undefined): number | null {
  if (!raw || !/^\d{1,9}$/.test(raw.trim())) return null;
  const n = Number(raw.trim());
  return n > 0 ? n : null;
}
