import { WorkerEntrypoint } from "cloudflare:workers";
import {
  ComplianceRuleSet,
  type ComplianceRulesView,
  type ComplianceVerdict,
  ErrorCode,
  type EvidenceObjects,
  EvidenceObjectsQuery,
  EvidenceQuery,
  type EvidenceRecord,
  err,
  type FetchLogPage,
  FetchLogQuery,
  type HealthReport,
  type HistoryRecordReport,
  HistoryRecordRequest,
  type IngestionRpc,
  IngestionRunRequest,
  type IngestionStatus,
  MAX_EVIDENCE_BATCH_BYTES,
  MAX_FAST_REFRESH,
  MarketQuery,
  type MarketRecord,
  MarketVenue,
  type MarkPrice,
  type MarkRefresh,
  type OrderBookSnapshot,
  ok,
  type PreTradeCheck,
  Principal,
  RawVenueAnswer,
  ReplayId,
  type ReplayRecord,
  type ReplayReport,
  ReplayStart,
  type Result,
  Sha256Hex,
  systemPrincipal,
  TradedMarket,
  Venue,
  type VenueRunReport,
} from "@paulp/contracts";
import { checkD1, checkR2, parseInput, rpc, runHealthChecks, serve } from "@paulp/kit";
import * as v from "valibot";
import { fetchFreshBook } from "./books";
import { ComplianceAgent, gateWithCurrentRules, loadRules, verdictOf } from "./compliance";
import type { Env } from "./env";
import { type EvidenceSighting, missingEvidence, readEvidence, readEvidenceObjects } from "./evidence";
import { ingestIbkrSnapshot, refreshBooks } from "./fast-marks";
import { listFetches } from "./fetch-log";
import { gatedMarket } from "./gated-market";
import { historyRefusal, recordHistory } from "./history";
import {
  getBookRow,
  getMarketRow,
  getMarkRow,
  lastSeen,
  listEvidenceRows,
  listMarketRows,
} from "./market-queries";
import { EvidenceCursor, encodeCursor, FetchLogCursor, MarketsCursor, pageQuery } from "./paging";
import { runIngestion } from "./pipeline";
import { readReplayReport } from "./replay/report";
import { startReplay } from "./replay/start";
import { getReplay, listReplays } from "./replay/store";
import { replaceComplianceRules } from "./rules-update";
import { CRON_ACTOR, CRON_MAX_PAGES, depsFromEnv, FAST_PATH_ACTOR, fastPathBuckets } from "./runtime";
import { ingestionStatus } from "./status";

const StrategyIdInput = v.pipe(v.string(), v.minLength(1), v.maxLength(128));
const MarketId = v.pipe(v.string(), v.minLength(1), v.maxLength(128));
const VenueAndId = v.tuple([MarketVenue, MarketId]);
const PreTradeInput = v.object({
  venue: Venue,
  marketId: MarketId,
  evidenceHashes: v.pipe(v.array(Sha256Hex), v.maxLength(16)),
});
/** Markets for a fast-path book refresh: Kalshi and Polymarket only. */
const FastMarkets = v.pipe(
  v.array(
    v.pipe(
      TradedMarket,
      v.check((m) => m.venue !== "ibkr", "books are read for kalshi and polymarket markets"),
    ),
  ),
  v.maxLength(MAX_FAST_REFRESH),
);
/** Instruments of one IBKR snapshot. */
const Instruments = v.pipe(
  v.array(
    v.pipe(
      TradedMarket,
      v.check((m) => m.venue === "ibkr", "IBKR instruments only"),
    ),
  ),
  v.minLength(1),
  v.maxLength(MAX_FAST_REFRESH),
);

/** The fast path's reads use buckets of their own, so they never wait behind the crawl's (nor take its share). */
function fastDeps(env: Env) {
  return { ...depsFromEnv(env, FAST_PATH_ACTOR), buckets: fastPathBuckets(env) };
}

const MaxAge = v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(86_400)), 10);

/** A failure inside ingestion is logged and answered as `internal_error` without its cause. */
const INTERNAL = { code: ErrorCode.internal, hideCause: true } as const;

/** The ingestion worker's RPC surface. Thin: validate, delegate to plain modules, return a Result. */
export class IngestionEntrypoint extends WorkerEntrypoint<Env> implements IngestionRpc {
  async health(): Promise<HealthReport> {
    return runHealthChecks("ingestion", {
      d1_markets: () => checkD1(this.env.D1_MARKETS),
      r2_evidence: () => checkR2(this.env.R2_EVIDENCE),
      compliance_rules: async () => `version ${(await loadRules(this.env.D1_MARKETS)).version}`,
    });
  }

  async listMarkets(query: MarketQuery): Promise<Result<{ markets: MarketRecord[]; cursor: string | null }>> {
    const asked = pageQuery(MarketQuery, MarketsCursor, query);
    if (!asked.ok) return asked;
    const { q, after } = asked.value;
    return rpc(
      async () => {
        const page = await listMarketRows(
          this.env.D1_MARKETS,
          {
            venue: q.venue,
            status: q.status,
            search: q.search,
            category: q.category,
            limit: q.limit ?? 100,
            after,
          },
          Date.now(),
        );
        // Rows passed the rules in force when their page was ingested: a rule added since hides them here too
        // (as getMarket, books and marks refuse them), and no rules at all lists nothing.
        const agent = await gateWithCurrentRules(this.env.D1_MARKETS);
        if (agent.unavailable)
          return err(ErrorCode.complianceBlocked, `compliance gate unavailable: ${agent.unavailable}`);
        const markets = page.markets.filter((m) => agent.check(m).decision === "allow");
        return ok({ markets, cursor: encodeCursor(page.next) });
      },
      { what: "listMarkets", ...INTERNAL },
    );
  }

  async getMarket(venue: "kalshi" | "polymarket", marketId: string): Promise<Result<MarketRecord>> {
    return serve({ what: "getMarket", ...INTERNAL }, [VenueAndId], [[venue, marketId]], async (input) => {
      const market = await gatedMarket(this.env.D1_MARKETS, input[0], input[1], Date.now());
      if (!market.ok) return market;
      const seen = await lastSeen(this.env.D1_MARKETS, input[0], input[1]);
      return ok({
        ...market.value,
        lastSeen: seen ? { at: seen.seenAt, evidenceHash: seen.evidenceHash } : null,
      });
    });
  }

  async getOrderBook(
    venue: "kalshi" | "polymarket",
    marketId: string,
    maxAgeSeconds?: number,
  ): Promise<Result<OrderBookSnapshot>> {
    return serve(
      { what: "getOrderBook", ...INTERNAL },
      [VenueAndId, MaxAge],
      [[venue, marketId], maxAgeSeconds],
      async (input, maxAge) => {
        const now = Date.now();
        const gated = await gatedMarket(this.env.D1_MARKETS, input[0], input[1], now);
        if (!gated.ok) return gated;
        const market = gated.value;
        const stored = await getBookRow(this.env.D1_MARKETS, input[0], input[1], now);
        if (stored && stored.ageSeconds < maxAge) return ok(stored);
        return await fetchFreshBook(depsFromEnv(this.env, systemPrincipal("ingestion:rpc")), market);
      },
    );
  }

  async getMark(venue: "kalshi" | "polymarket", marketId: string): Promise<Result<MarkPrice>> {
    return serve({ what: "getMark", ...INTERNAL }, [VenueAndId], [[venue, marketId]], async (input) => {
      const now = Date.now();
      const gated = await gatedMarket(this.env.D1_MARKETS, input[0], input[1], now);
      if (!gated.ok) return gated;
      const mark = await getMarkRow(this.env.D1_MARKETS, input[0], input[1], now);
      return mark ? ok(mark) : err(ErrorCode.notFound, `no mark for ${venue}:${marketId}`);
    });
  }

  async preTradeCheck(
    venue: Venue,
    marketId: string,
    evidenceHashes: string[],
  ): Promise<Result<PreTradeCheck>> {
    const input = parseInput(PreTradeInput, { venue, marketId, evidenceHashes });
    if (!input.ok) return input;
    const q = input.value;
    return rpc(
      async () => {
        const db = this.env.D1_MARKETS;
        let rulesVersion = 0;
        const agent = new ComplianceAgent();
        const [missing, market] = await Promise.all([
          missingEvidence(db, q.evidenceHashes),
          q.venue === "ibkr" ? null : getMarketRow(db, q.venue, q.marketId, Date.now()),
          agent.prepare(async () => {
            const view = await loadRules(db);
            rulesVersion = view.version;
            return view.rules;
          }),
        ]);
        const compliance: ComplianceVerdict =
          q.venue === "ibkr"
            ? { verdict: "not_applicable", reason: "IBKR instruments are not ingested: no rule can name one" }
            : verdictOf(market, agent);
        return ok({ compliance, rulesVersion, missingEvidence: missing });
      },
      { what: "preTradeCheck", ...INTERNAL },
    );
  }

  async listEvidence(
    query: EvidenceQuery,
  ): Promise<Result<{ evidence: EvidenceRecord[]; cursor: string | null }>> {
    const asked = pageQuery(EvidenceQuery, EvidenceCursor, query);
    if (!asked.ok) return asked;
    const { q, after } = asked.value;
    return rpc(
      async () => {
        const page = await listEvidenceRows(this.env.D1_MARKETS, {
          venue: q.venue,
          from: q.from,
          to: q.to,
          limit: q.limit ?? 100,
          after,
        });
        return ok({ evidence: page.evidence, cursor: encodeCursor(page.next) });
      },
      { what: "listEvidence", ...INTERNAL },
    );
  }

  async getEvidence(hash: string): Promise<
    Result<{
      bytes: Uint8Array;
      contentType: string;
      venue: string;
      url: string;
      sightings: EvidenceSighting[];
    }>
  > {
    return serve({ what: "getEvidence", ...INTERNAL }, [Sha256Hex], [hash], async (input) => {
      const r = await readEvidence({ bucket: this.env.R2_EVIDENCE, db: this.env.D1_MARKETS }, input);
      if (!r.ok)
        return err(r.code === "not_found" ? ErrorCode.notFound : ErrorCode.integrityBroken, r.message);
      return ok({
        bytes: r.bytes,
        contentType: r.contentType,
        venue: r.venue,
        url: r.url,
        sightings: r.sightings,
      });
    });
  }

  async listFetches(query: FetchLogQuery): Promise<Result<FetchLogPage>> {
    const asked = pageQuery(FetchLogQuery, FetchLogCursor, query);
    if (!asked.ok) return asked;
    const { q, after } = asked.value;
    // The log holds ingestion's own timestamps (UTC, milliseconds): the window is compared in that form.
    const iso = (t: string) => new Date(Date.parse(t)).toISOString();
    return rpc(
      async () => {
        const page = await listFetches(this.env.D1_MARKETS, {
          from: iso(q.from),
          to: iso(q.to),
          limit: q.limit ?? 500,
          after,
        });
        return ok({ fetches: page.fetches, hashes: page.hashes, cursor: encodeCursor(page.next) });
      },
      { what: "listFetches", ...INTERNAL },
    );
  }

  async getEvidenceObjects(hashes: string[]): Promise<Result<EvidenceObjects>> {
    const input = parseInput(EvidenceObjectsQuery, hashes);
    if (!input.ok) return input;
    if (new Set(input.value).size !== input.value.length)
      return err(ErrorCode.validationFailed, "hashes: each evidence object is asked for once");
    return rpc(
      async () => {
        const r = await readEvidenceObjects(
          { bucket: this.env.R2_EVIDENCE, db: this.env.D1_MARKETS },
          input.value,
          MAX_EVIDENCE_BATCH_BYTES,
        );
        if (!r.ok)
          return err(r.code === "not_found" ? ErrorCode.notFound : ErrorCode.integrityBroken, r.message);
        return ok({ objects: r.objects, remaining: r.remaining });
      },
      { what: "getEvidenceObjects", ...INTERNAL },
    );
  }

  async runNow(request: IngestionRunRequest, actor: Principal): Promise<Result<VenueRunReport[]>> {
    return serve(
      { what: "runNow", ...INTERNAL },
      [IngestionRunRequest, Principal],
      [request ?? {}, actor],
      async (req, who) => {
        const deps = {
          ...depsFromEnv(this.env, who),
          defer: (p: Promise<unknown>) => this.ctx.waitUntil(p),
        };
        const reports = await runIngestion(deps, {
          venues: req.venues ?? ["kalshi", "polymarket"],
          maxPages: req.maxPages ?? CRON_MAX_PAGES,
          pageSize: req.pageSize,
        });
        return ok(reports);
      },
    );
  }

  async recordHistory(request: HistoryRecordRequest, actor: Principal): Promise<Result<HistoryRecordReport>> {
    // Fail closed before anything is read: only the dev config (with the simulator bound) records history.
    const refused = historyRefusal(this.env);
    if (refused) return err(ErrorCode.forbidden, refused);
    return serve(
      { what: "recordHistory", ...INTERNAL },
      [HistoryRecordRequest, Principal],
      [request, actor],
      async (input, who) => {
        const pairs = await rpc(this.env.GOVERNANCE, (g) => g.tradablePairs(), {
          what: "governance.tradablePairs",
        });
        if (!pairs.ok) return pairs;
        return recordHistory(depsFromEnv(this.env, who), this.env, pairs.value, input, Date.now());
      },
    );
  }

  async status(): Promise<Result<IngestionStatus>> {
    return rpc(
      async () => {
        return ok(await ingestionStatus(this.env.D1_MARKETS));
      },
      { what: "status", ...INTERNAL },
    );
  }

  async refreshMarks(markets: TradedMarket[]): Promise<Result<MarkRefresh>> {
    return serve({ what: "refreshMarks", ...INTERNAL }, [FastMarkets], [markets], async (input) => {
      return ok(await refreshBooks(fastDeps(this.env), input));
    });
  }

  async ingestIbkrSnapshot(
    answer: RawVenueAnswer,
    instruments: TradedMarket[],
  ): Promise<Result<MarkRefresh>> {
    return serve(
      { what: "ingestIbkrSnapshot", ...INTERNAL },
      [v.object({ answer: RawVenueAnswer, instruments: Instruments })],
      [{ answer, instruments }],
      async (input) => {
        return ok(await ingestIbkrSnapshot(fastDeps(this.env), input.answer, input.instruments));
      },
    );
  }

  async getComplianceRules(): Promise<Result<ComplianceRulesView>> {
    return rpc(
      async () => {
        return ok(await loadRules(this.env.D1_MARKETS));
      },
      { what: "getComplianceRules", ...INTERNAL },
    );
  }

  async putComplianceRules(
    ruleSet: ComplianceRuleSet,
    actor: Principal,
  ): Promise<Result<ComplianceRulesView>> {
    return serve(
      { what: "putComplianceRules", ...INTERNAL },
      [ComplianceRuleSet, Principal],
      [ruleSet, actor],
      async (input, who) => {
        return replaceComplianceRules(this.env.D1_MARKETS, this.env.AUDIT, input, who, Date.now());
      },
    );
  }

  async startReplay(request: ReplayStart, actor: Principal): Promise<Result<ReplayRecord>> {
    return serve(
      { what: "startReplay", ...INTERNAL },
      [ReplayStart, Principal],
      [request, actor],
      async (input, who) => startReplay(this.env, input, who, new Date()),
    );
  }

  async getReplay(replayId: string): Promise<Result<ReplayRecord>> {
    return serve({ what: "getReplay", ...INTERNAL }, [ReplayId], [replayId], async (id) => {
      const record = await getReplay(this.env.D1_MARKETS, id);
      return record ? ok(record) : err(ErrorCode.notFound, `no replay ${id}`);
    });
  }

  async getReplayReport(replayId: string): Promise<Result<{ report: ReplayReport; reportHash: string }>> {
    return serve({ what: "getReplayReport", ...INTERNAL }, [ReplayId], [replayId], async (id) =>
      readReplayReport(this.env, id),
    );
  }

  async listReplays(strategyId: string): Promise<Result<{ replays: ReplayRecord[] }>> {
    return serve({ what: "listReplays", ...INTERNAL }, [StrategyIdInput], [strategyId], async (id) =>
      ok({ replays: await listReplays(this.env.D1_MARKETS, id, 50) }),
    );
  }

  override async scheduled(_controller: ScheduledController): Promise<void> {
    const deps = {
      ...depsFromEnv(this.env, CRON_ACTOR),
      defer: (p: Promise<unknown>) => this.ctx.waitUntil(p),
    };
    const reports = await runIngestion(deps, { venues: ["kalshi", "polymarket"], maxPages: CRON_MAX_PAGES });
    for (const r of reports) {
      console.log(
        `ingestion ${r.venue}: ${r.outcome} pages=${r.pages} stored=${r.stored} blocked=${r.blocked} rejected=${r.rejected}`,
      );
    }
  }
}

/** Each venue's shared read budget (a Durable Object class must be exported by the main module). */
export { ReadBudget } from "./read-budget";
/** One object per replay run (src/replay/run.ts). */
export { ReplayRun } from "./replay/run";
export default IngestionEntrypoint;
