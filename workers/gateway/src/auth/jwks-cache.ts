import {
  createLocalJWKSet,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
} from "jose";

/** How long one JWKS fetch may take before it counts as failed. */
export const JWKS_TIMEOUT_MS = 3_000;
/** Keys younger than this are used without asking again. */
export const JWKS_FRESH_MS = 10 * 60_000;
/** After a successful fetch, an unknown `kid` refetches only once this long has passed (as jose's cooldown). */
export const JWKS_UNKNOWN_KID_REFETCH_MS = 30_000;
/** The first cooldown after a failed fetch; it doubles with each failure in a row, up to the maximum. */
export const JWKS_FAILURE_COOLDOWN_MS = 5_000;
/** The longest cooldown after failures in a row (the bound). */
export const JWKS_FAILURE_COOLDOWN_MAX_MS = 60_000;
/** Keys this old are no longer used, even when fetching new ones fails: Access then refuses (fail closed). */
export const JWKS_MAX_STALE_MS = 60 * 60_000;

/** What the cache needs from the world: the JWKS itself, the clock, and a timer (all injected for tests). */
export interface JwksSource {
  /** Fetch and parse the key set (through the egress allowlist). */
  fetchJwks(): Promise<unknown>;
  now(): number;
  /** Resolves once `ms` have passed: the fetch deadline. */
  after(ms: number): Promise<void>;
}

/** Access keys could not be had: a fetch failed or timed out, and there is no usable key set. */
export class JwksUnavailable extends Error {
  override name = "JwksUnavailable";
}

/**
 * The Access signing keys of one team, for every request of an isolate. One fetch at a time: concurrent
 * requests (unknown `kid`s included) wait on the same fetch. A failed or timed-out fetch starts a cooldown
 * (5 s, doubling to at most 60 s) during which nothing is fetched: requests use the keys already held, or are
 * refused at once instead of each waiting for an unreachable JWKS. Keys held are used for at most an hour
 * after they were fetched. jose's own remote set cannot do this on Workers: it deliberately fetches anew for
 * each request there, and does not remember failures.
 */
export class JwksCache {
  private keys: { select: ReturnType<typeof createLocalJWKSet>; fetchedAt: number } | undefined;
  private inflight: Attempt | undefined;
  private failuresInRow = 0;
  private coolUntil = 0;
  /** How many fetches were started (for tests). */
  fetches = 0;
  /** How many keys the held set has (for the configuration health). */
  private keyCount = 0;

  constructor(private readonly source: JwksSource) {}

  /** The key for a JWS header, as jose's `jwtVerify` asks for it. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    const held = this.keys;
    if (!held || this.source.now() - held.fetchedAt >= JWKS_FRESH_MS) await this.refresh();
    try {
      return await this.usable().select(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      // A key rotated in since the last fetch: ask again, but not more than once per refetch window.
      const fetchedAt = this.keys?.fetchedAt ?? 0;
      if (this.source.now() - fetchedAt < JWKS_UNKNOWN_KID_REFETCH_MS) throw error;
      await this.refresh();
      return this.usable().select(header, token);
    }
  };

  /**
   * Whether keys can be had now (fetching them if none are fresh), for `/admin/status`: the same fetch, cooldown
   * and staleness rules as a sign-in, so it reports what the next sign-in would meet.
   */
  async probe(): Promise<{ ok: true; keys: number; ageSeconds: number } | { ok: false; error: string }> {
    try {
      const held = this.keys;
      if (!held || this.source.now() - held.fetchedAt >= JWKS_FRESH_MS) await this.refresh();
      const usable = this.usable();
      if (this.keyCount === 0) return { ok: false, error: "the Access keys endpoint published no keys" };
      return {
        ok: true,
        keys: this.keyCount,
        ageSeconds: Math.floor((this.source.now() - usable.fetchedAt) / 1000),
      };
    } catch (error) {
      return { ok: false, error: (error as Error).message || String(error) };
    }
  }

  /** The held keys if they are young enough to use; otherwise refused. */
  private usable() {
    const held = this.keys;
    if (held && this.source.now() - held.fetchedAt < JWKS_MAX_STALE_MS) return held;
    throw new JwksUnavailable("no usable Access keys: the last fetch failed");
  }

  /**
   * Fetch anew unless cooling down; concurrent callers share one fetch. On failure the held keys stay (the
   * caller's `usable()` decides whether they are young enough); with none held, the failure is thrown.
   */
  private async refresh(): Promise<void> {
    const now = this.source.now();
    if (now < this.coolUntil) {
      if (this.keys) return;
      throw new JwksUnavailable(
        `Access keys fetch failed; not retried for ${Math.ceil((this.coolUntil - now) / 1000)} s`,
      );
    }
    const attempt = this.inflight ?? this.start();
    // Each waiter keeps its own deadline: a fetch started by a request that was cancelled midway would
    // otherwise never settle. The first deadline to pass ends the attempt for every waiter.
    const deadline = this.source.after(JWKS_TIMEOUT_MS).then(() => {
      this.end(attempt, new errors.JWKSTimeout());
    });
    void deadline;
    const error = await attempt.done;
    if (error !== undefined && !this.keys) throw error;
  }

  /** Start one fetch; its outcome is recorded once, by whichever comes first: the answer or a deadline. */
  private start(): Attempt {
    let settle!: (error: unknown) => void;
    const attempt: Attempt = { done: new Promise((resolve) => (settle = resolve)), settle, ended: false };
    this.inflight = attempt;
    this.fetches += 1;
    this.source.fetchJwks().then(
      (json) => {
        if (attempt.ended) return; // too late: the deadline already counted it as failed
        try {
          this.keys = { select: createLocalJWKSet(json as JSONWebKeySet), fetchedAt: this.source.now() };
          this.keyCount = (json as JSONWebKeySet).keys.length;
        } catch (error) {
          return this.end(attempt, error); // a malformed set is a failed fetch
        }
        this.failuresInRow = 0;
        this.coolUntil = 0;
        this.end(attempt, undefined);
      },
      (error: unknown) => this.end(attempt, error ?? new JwksUnavailable("Access keys fetch failed")),
    );
    return attempt;
  }

  /** Settle an attempt once; a failure starts the cooldown. */
  private end(attempt: Attempt, error: unknown): void {
    if (attempt.ended) return;
    attempt.ended = true;
    if (this.inflight === attempt) this.inflight = undefined;
    if (error !== undefined) this.failed();
    attempt.settle(error);
  }

  private failed(): void {
    const cooldown = Math.min(
      JWKS_FAILURE_COOLDOWN_MS * 2 ** Math.min(this.failuresInRow, 16),
      JWKS_FAILURE_COOLDOWN_MAX_MS,
    );
    this.failuresInRow += 1;
    this.coolUntil = this.source.now() + cooldown;
  }
}

/** One fetch in flight: `done` resolves with undefined on success, or with the error that ended it. */
interface Attempt {
  done: Promise<unknown>;
  settle: (error: unknown) => void;
  ended: boolean;
}
