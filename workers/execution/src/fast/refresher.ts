import { DurableObject } from "cloudflare:workers";
import {
  ErrorCode,
  type FastPathStatus,
  type FastPathTick,
  type IngestionRpc,
  MAX_FAST_REFRESH,
  type MarkRefresh,
  type Result,
  type TradedMarket,
} from "@paulp/contracts";
import { rpc } from "@paulp/kit";
import type { Env } from "../env";
import { loadTradedMarkets } from "../traded";
import { venueClients } from "../venues/clients";
import type { IbkrClient } from "../venues/ibkr";
import { FAST_PATH, planTick, type TickPlan, tradedKey } from "./schedule";

const STATE_KEY = "state";
/** Snapshot fields read: 31 last, 84 bid, 86 ask (IBKR's `/iserver/marketdata/snapshot` field ids). */
const SNAPSHOT_FIELDS = ["31", "84", "86"] as const;

interface State {
  traded: TradedMarket[];
  refreshedAt: Record<string, number>;
  errors: Record<string, number>;
  ticks: number;
  lastTick: FastPathTick | null;
}

/** What is traded, as read for a tick (null when the read threw). */
type TradedRead = Result<TradedMarket[]> | null;

const readTraded = (env: Env): Promise<TradedRead> => loadTradedMarkets(env).catch(() => null);

/** The one fast-path object. */
export function refresher(env: Env): DurableObjectStub<MarkRefresher> {
  return env.MARK_REFRESHER.get(env.MARK_REFRESHER.idFromName("fast-path"));
}

/**
 * Keeps the marks of what strategies trade fresh, apart from the crawl. A thin shell: the traded set
 * (`loadTradedMarkets`), the schedule (`planTick`: which markets, in what order, how many under the venues'
 * budgets), then the reads, which ingestion makes and keeps as evidence, gates and pushes to risk
 * (`refreshMarks`); IBKR snapshots are read here, where the gateway session is, and handed to ingestion
 * unparsed (`ingestIbkrSnapshot`). Its alarm runs a tick every `FAST_PATH.tickMs` and sets the next; the
 * trading loop's runs `kick` it so an alarm is always set. One object: ticks never overlap.
 */
export class MarkRefresher extends DurableObject<Env> {
  private state: State | null = null;
  private running: Promise<FastPathTick> | null = null;
  // One client for the object's life: the brokerage session's prerequisites are not asked again every tick.
  private ibkrClient: IbkrClient | null = null;

  /** The alarm's cadence: `FAST_PATH.tickMs` unless FAST_PATH_ALARM_MS says otherwise (tests: an hour). */
  private get alarmMs(): number {
    const ms = Number(this.env.FAST_PATH_ALARM_MS);
    return Number.isFinite(ms) && ms >= 1_000 ? ms : FAST_PATH.tickMs;
  }

  /** Make sure an alarm is set (an alarm lost to a deploy comes back with the next loop run). */
  async kick(): Promise<{ nextTickAt: string }> {
    let at = await this.ctx.storage.getAlarm();
    if (at === null) {
      at = Date.now() + this.alarmMs;
      await this.ctx.storage.setAlarm(at);
    }
    return { nextTickAt: new Date(at).toISOString() };
  }

  /** Run one tick now (or wait for the one running) and say what it did. */
  async tickNow(traded?: TradedRead): Promise<FastPathTick> {
    this.running ??= this.tick(traded).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /**
   * Before the trading loop decides: when something traded was never refreshed here (the object's first tick, a
   * strategy just promoted, a new pair), run a tick now, so the loop does not decide on the crawl's older mark
   * (the crawl sends risk a mark only when its price changed or it is ageing). Otherwise nothing is read.
   */
  async refreshUnseen(): Promise<{ ticked: boolean }> {
    const s = await this.load();
    const traded = await readTraded(this.env);
    const set = traded?.ok ? traded.value : s.traded;
    if (set.every((m) => s.refreshedAt[tradedKey(m)] !== undefined)) return { ticked: false };
    // The tick takes the set just read rather than asking for it again.
    await this.tickNow(traded);
    return { ticked: true };
  }

  override async alarm(): Promise<void> {
    const started = Date.now();
    try {
      await this.tickNow();
    } finally {
      // The cadence is kept from this tick's start; a slow tick is followed at once, never skipped.
      await this.ctx.storage.setAlarm(Math.max(started + this.alarmMs, Date.now() + 250));
    }
  }

  async status(): Promise<FastPathStatus> {
    const s = await this.load();
    const at = await this.ctx.storage.getAlarm();
    return {
      nextTickAt: at === null ? null : new Date(at).toISOString(),
      lastTick: s.lastTick,
      markets: s.traded.map((m) => {
        const t = s.refreshedAt[tradedKey(m)];
        return {
          venue: m.venue,
          market: m.market,
          why: m.why,
          refreshedAt: t === undefined ? null : new Date(t).toISOString(),
        };
      }),
      errors: s.errors,
      ticks: s.ticks,
    };
  }

  private async load(): Promise<State> {
    this.state ??= (await this.ctx.storage.get<State>(STATE_KEY)) ?? {
      traded: [],
      refreshedAt: {},
      errors: {},
      ticks: 0,
      lastTick: null,
    };
    return this.state;
  }

  private async tick(preread?: TradedRead): Promise<FastPathTick> {
    const s = await this.load();
    const errors: Record<string, number> = {};
    const count = (kind: string, n = 1) => {
      errors[kind] = (errors[kind] ?? 0) + n;
    };
    // Read every tick, so a new position is fresh within one; when it cannot be read, the last set is kept.
    const traded = preread === undefined ? await readTraded(this.env) : preread;
    if (traded?.ok) s.traded = traded.value;
    else count("traded_unavailable");
    const now = Date.now();
    const plan = planTick(s.traded, new Map(Object.entries(s.refreshedAt)), now);
    const results = await Promise.all([
      this.refreshBooks(plan),
      ...plan.snapshots.map((b) => this.snapshot(b)),
    ]);
    const doneAt = Date.now();
    let refreshed = 0;
    for (const r of results) {
      for (const key of r.refreshed) s.refreshedAt[key] = doneAt;
      refreshed += r.refreshed.length;
      for (const [kind, n] of Object.entries(r.errors)) count(kind, n);
    }
    // Forget markets no longer traded.
    const live = new Set(s.traded.map(tradedKey));
    for (const key of Object.keys(s.refreshedAt)) if (!live.has(key)) delete s.refreshedAt[key];
    for (const [kind, n] of Object.entries(errors)) s.errors[kind] = (s.errors[kind] ?? 0) + n;
    const report: FastPathTick = {
      at: new Date(now).toISOString(),
      traded: s.traded.length,
      refreshed,
      deferred: plan.deferred,
      errors,
    };
    s.ticks++;
    s.lastTick = report;
    await this.ctx.storage.put(STATE_KEY, s);
    return report;
  }

  /** Kalshi and Polymarket books, read by ingestion through evidence and the gate. */
  private async refreshBooks(plan: TickPlan): Promise<MarkRefresh> {
    const out: MarkRefresh = { refreshed: [], errors: {} };
    for (let i = 0; i < plan.books.length; i += MAX_FAST_REFRESH) {
      const chunk = plan.books.slice(i, i + MAX_FAST_REFRESH);
      merge(
        out,
        await this.ingestion("refreshMarks", chunk.length, (ingestion) => ingestion.refreshMarks(chunk)),
      );
    }
    return out;
  }

  /** One IBKR snapshot, read through the gateway session and handed to ingestion unparsed. */
  private async snapshot(batch: TradedMarket[]): Promise<MarkRefresh> {
    this.ibkrClient ??= venueClients(this.env).ibkr;
    if (!this.ibkrClient.configured) return { refreshed: [], errors: { ibkr_not_configured: batch.length } };
    const read = await this.ibkrClient.marketDataSnapshot(
      batch.map((m) => Number(m.market)),
      SNAPSHOT_FIELDS,
    );
    if (!read.ok) return { refreshed: [], errors: { [`ibkr_${read.error.kind}`]: batch.length } };
    return this.ingestion("ingestIbkrSnapshot", batch.length, (ingestion) =>
      ingestion.ingestIbkrSnapshot(read.value, batch),
    );
  }

  private async ingestion(
    what: string,
    n: number,
    call: (ingestion: IngestionRpc) => Promise<Result<MarkRefresh>>,
  ): Promise<MarkRefresh> {
    const r = await rpc(this.env.INGESTION, call, { what: `ingestion.${what}`, timeoutMs: 20_000 });
    if (r.ok) return r.value;
    // An ingestion that did not answer counts as `ingestion_unavailable`, as it always has.
    const code = r.error.code === ErrorCode.serviceUnavailable ? "unavailable" : r.error.code;
    return { refreshed: [], errors: { [`ingestion_${code}`]: n } };
  }
}

function merge(into: MarkRefresh, r: MarkRefresh): void {
  into.refreshed.push(...r.refreshed);
  for (const [kind, n] of Object.entries(r.errors)) into.errors[kind] = (into.errors[kind] ?? 0) + n;
}
