/**
 * The one way out of the mesh. Only the hosts the security guide lists (plus a configured IBKR gateway
 * host) may be reached; anything else is refused before any network I/O. In local dev and tests a
 * `simulator` service binding is present and every allowed request is served by the venue simulator
 * with its original URL, so clients use the real production URLs and paths everywhere.
 */
export const SPEC_EGRESS_HOSTS = [
  "api.elections.kalshi.com",
  "gamma-api.polymarket.com",
  "clob.polymarket.com",
  "data-api.polymarket.com",
  "api.anthropic.com",
] as const;

export class EgressDeniedError extends Error {
  override name = "EgressDeniedError";
  constructor(readonly url: string) {
    super(`egress to ${safeHost(url)} is not on the allowlist`);
  }
}

export interface EgressOptions {
  /** Extra hosts beyond the specification's five (e.g. the configured IBKR gateway host). */
  extraHosts?: readonly string[];
  /** Dev/test only: the venue simulator's service binding; production configs never bind it. */
  simulator?: Fetcher | undefined;
  /** Abort the request after this many milliseconds (default 10 s). */
  timeoutMs?: number;
  /** Called once per refused or failed call so the caller can count API errors. */
  onError?: (kind: "egress_denied" | "network" | "timeout", host: string) => void;
}

export type EgressFetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

export function createEgressFetch(options: EgressOptions = {}): EgressFetch {
  const allowed = new Set<string>(
    [...SPEC_EGRESS_HOSTS, ...(options.extraHosts ?? [])].map((h) => h.toLowerCase()),
  );
  const timeoutMs = options.timeoutMs ?? 10_000;
  return async function egressFetch(input, init) {
    const url = new URL(typeof input === "string" ? input : input.href);
    const host = url.hostname.toLowerCase();
    if (url.protocol !== "https:" || !allowed.has(host) || url.username || url.password) {
      options.onError?.("egress_denied", host);
      throw new EgressDeniedError(url.href);
    }
    const signal = init?.signal ?? AbortSignal.timeout(timeoutMs);
    try {
      if (options.simulator) return await options.simulator.fetch(url.href, { ...init, signal });
      return await fetch(url.href, { ...init, signal });
    } catch (error) {
      const kind = (error as Error)?.name === "TimeoutError" || signal.aborted ? "timeout" : "network";
      options.onError?.(kind, host);
      throw error;
    }
  };
}

/** Parse a configured extra host list (comma separated) into host names, ignoring blanks. */
export function parseHostList(raw: string | undefined): string[] {
  if (!raw) return [];
  return raw
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h.length > 0);
}

function safeHost(url: string): string {
  try {
    return new URL(url).host || "(no host)";
  } catch {
    return "(invalid url)";
  }
}
