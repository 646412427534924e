import { type EgressFetch, readBounded } from "@paulp/kit";

/** A response as received, before anything is parsed. */
export interface RawResponse {
  url: string;
  status: number;
  contentType: string;
  bytes: Uint8Array;
  retryAfter: string | null;
}

/** How a fetch ended when it did not produce a usable 2xx body. */
export type FetchErrorKind =
  | "evidence_write"
  | "rate_limited"
  | "server_error"
  | "http_error"
  | "too_large"
  | "timeout"
  | "network"
  | "egress_denied"
  /** The shared read budget could not be asked: nothing is read (fail closed on the venue's rate limit). */
  | "budget_unavailable";

/** The outcome of one logical request (possibly several attempts). */
export type FetchOutcome =
  | { ok: true; response: RawResponse; evidenceHash: string; attempts: number }
  | {
      ok: false;
      kind: FetchErrorKind;
      status?: number;
      evidenceHash?: string;
      detail: string;
      attempts: number;
    };

/** Where a read takes its token: answers how many ms to wait first (0 when one is available now). */
export interface ReadBucket {
  take(now: number): number | Promise<number>;
}

/** A token bucket; the clock is passed in so it is a plain value. */
export class TokenBucket implements ReadBucket {
  private tokens: number;
  private at: number;
  constructor(
    readonly capacity: number,
    readonly refillPerSecond: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.at = now;
  }
  /** Take one token; answers how many ms to wait first (0 when one is available now). */
  take(now: number): number {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) / 1000) * this.refillPerSecond);
    this.at = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.refillPerSecond) * 1000);
  }
}

/** Options of `fetchWithEvidence`. */
export interface ClientOptions {
  fetch: EgressFetch;
  /** Extra request headers, computed for each attempt (a venue signature carries a fresh timestamp). */
  headers?: (() => Promise<Record<string, string>>) | undefined;
  bucket: ReadBucket;
  /** Stores the raw bytes as evidence and returns their hash; a throw stops everything (nothing parsed). */
  capture: (raw: RawResponse) => Promise<string>;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  maxAttempts?: number;
  baseDelayMs?: number;
  /** A Retry-After longer than this gives up instead of holding the worker. */
  maxRetryAfterMs?: number;
  maxBodyBytes?: number;
}

/** Parse Retry-After (delta seconds or an HTTP date) into ms; null when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Exponential backoff with full jitter. */
export function backoffMs(attempt: number, baseMs: number, random: () => number): number {
  return Math.floor(random() * baseMs * 2 ** attempt);
}

/**
 * GET a venue URL through the egress allowlist, rate-limited by the venue's bucket. Every response's raw
 * bytes are captured as evidence before anything looks at them; 429 and 5xx are retried with jittered
 * backoff, honouring Retry-After. Never throws.
 */
export async function fetchWithEvidence(url: string, o: ClientOptions): Promise<FetchOutcome> {
  const maxAttempts = o.maxAttempts ?? 3;
  const base = o.baseDelayMs ?? 250;
  const maxRetryAfter = o.maxRetryAfterMs ?? 5_000;
  const maxBody = o.maxBodyBytes ?? 8 * 1024 * 1024;
  let last: FetchOutcome = { ok: false, kind: "network", detail: "not attempted", attempts: 0 };
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    let wait: number;
    try {
      wait = await o.bucket.take(o.now());
    } catch (error) {
      return {
        ok: false,
        kind: "budget_unavailable",
        detail: (error as Error)?.message ?? String(error),
        attempts: attempt,
      };
    }
    if (wait > 0) await o.sleep(wait);
    let response: Response;
    try {
      const extra = o.headers ? await o.headers() : {};
      response = await o.fetch(url, { headers: { accept: "application/json", ...extra } });
    } catch (error) {
      const name = (error as Error)?.name;
      const kind: FetchErrorKind =
        name === "EgressDeniedError"
          ? "egress_denied"
          : name === "TimeoutError" || name === "AbortError"
            ? "timeout"
            : "network";
      last = { ok: false, kind, detail: (error as Error)?.message ?? String(error), attempts: attempt + 1 };
      if (kind === "egress_denied") return last;
      await o.sleep(backoffMs(attempt, base, o.random));
      continue;
    }
    const bytes = await readBounded(response.body, maxBody).catch(() => undefined);
    if (bytes === undefined) {
      last = {
        ok: false,
        kind: "network",
        status: response.status,
        detail: "body read failed",
        attempts: attempt + 1,
      };
      continue;
    }
    if (bytes === null) {
      // Too large to keep: nothing is stored or parsed (the bytes were never held whole).
      return {
        ok: false,
        kind: "too_large",
        status: response.status,
        detail: `body over ${maxBody} bytes`,
        attempts: attempt + 1,
      };
    }
    const raw: RawResponse = {
      url,
      status: response.status,
      contentType: response.headers.get("content-type") ?? "application/octet-stream",
      bytes,
      retryAfter: response.headers.get("retry-after"),
    };
    let evidenceHash: string;
    try {
      evidenceHash = await o.capture(raw);
    } catch (error) {
      return {
        ok: false,
        kind: "evidence_write",
        status: raw.status,
        detail: (error as Error)?.message ?? "evidence write failed",
        attempts: attempt + 1,
      };
    }
    if (raw.status >= 200 && raw.status < 300)
      return { ok: true, response: raw, evidenceHash, attempts: attempt + 1 };
    const retryable = raw.status === 429 || raw.status >= 500;
    const kind: FetchErrorKind =
      raw.status === 429 ? "rate_limited" : raw.status >= 500 ? "server_error" : "http_error";
    last = {
      ok: false,
      kind,
      status: raw.status,
      evidenceHash,
      detail: `HTTP ${raw.status}`,
      attempts: attempt + 1,
    };
    if (!retryable || attempt === maxAttempts - 1) return last;
    const hinted = retryAfterMs(raw.retryAfter, o.now());
    if (hinted !== null && hinted > maxRetryAfter)
      return { ...last, detail: `HTTP ${raw.status}, retry-after ${hinted} ms` };
    await o.sleep(hinted ?? backoffMs(attempt, base, o.random));
  }
  return last;
}
