// The ingestion worker's entry: the RPC methods validate their input and delegate to plain modules (the time is
// read here and passed in), the cron runs the pipeline, and the Durable Object classes are exported.
import { WorkerEntrypoint } from "cloudflare:workers";
import {
  ComplianceRuleSet,
  type ComplianceRulesView,
  ErrorCode,
  type EvidenceIndexStep,
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
  MarketQuery,
  type MarketRecord,
  type MarkPrice,
  type MarkRefresh,
  type OrderBookSnapshot,
  ok,
  type PreTradeCheck,
  Principal,
  type RawVenueAnswer,
  ReplayId,
  type ReplayRecord,
  type ReplayReport,
  ReplayStart,
  type Result,
  Sha256Hex,
  systemPrincipal,
  type TradedMarket,
  type Venue,
  type VenueRunReport,
} from "@paulp/contracts";
import { checkD1, checkR2, parseInput, rpc, runHealthChecks, serve } from "@paulp/kit";
import { fetchFreshBook } from "./books";
import { loadRules } from "./compliance";
import type { Env } from "./env";
import type { EvidenceSighting, EvidenceStore } from "./evidence";
import { auditEvidenceIndex, indexAuditAnswer, logIndexStep } from "./evidence-index";
import { ingestIbkrSnapshot, refreshBooks } from "./fast-marks";
import { gatedBook, gatedMark, gatedMarketPage, gatedMarketSeen } from "./gated-market";
import { historyRefusal, recordHistory } from "./history";
import { answerPage, EvidenceCursor, FetchLogCursor, MarketsCursor } from "./paging";
import { runIngestion } from "./pipeline";
import { preTradeCheck } from "./pre-trade";
import { readReplayReport } from "./replay/report";
import { startReplay } from "./replay/start";
import { getReplay, listReplays } from "./replay/store";
import {
  FastMarkets,
  IbkrSnapshotInput,
  MaxAge,
  PreTradeInput,
  StrategyIdInput,
  VenueAndId,
} from "./rpc-inputs";
import { replaceComplianceRules } from "./rules-update";
import { CRON_ACTOR, CRON_MAX_PAGES, depsFromEnv, FAST_PATH_ACTOR, fastPathBuckets } from "./runtime";
import { evidenceObject, evidenceObjects, evidencePage, fetchLogPage } from "./served-evidence";
import { ingestionStatus } from "./status";

/** The fast path's reads use buckets of their own, so they never wait behind the crawl's (nor take its share). */
function fastDeps(env: Env) {
  return { ...depsFromEnv(env, FAST_PATH_ACTOR), buckets: fastPathBuckets(env) };
}

/** Where the RPC reads evidence from. */
function evidenceStore(env: Env): EvidenceStore {
  return { bucket: env.R2_EVIDENCE, db: env.D1_MARKETS };
}

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
    return answerPage(
      { query: MarketQuery, cursor: MarketsCursor },
      query,
      { what: "listMarkets", ...INTERNAL },
      (q, after) => gatedMarketPage(this.env.D1_MARKETS, q, after, Date.now()),
    );
  }

  async getMarket(venue: "kalshi" | "polymarket", marketId: string): Promise<Result<MarketRecord>> {
    return serve({ what: "getMarket", ...INTERNAL }, [VenueAndId], [[venue, marketId]], async (input) =>
      gatedMarketSeen(this.env.D1_MARKETS, { venue: input[0], marketId: input[1], now: Date.now() }),
    );
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
      async (input, maxAge) =>
        gatedBook(
          this.env.D1_MARKETS,
          { venue: input[0], marketId: input[1], now: Date.now() },
          maxAge,
          (market) => fetchFreshBook(depsFromEnv(this.env, systemPrincipal("ingestion:rpc")), market),
        ),
    );
  }

  async getMark(venue: "kalshi" | "polymarket", marketId: string): Promise<Result<MarkPrice>> {
    return serve({ what: "getMark", ...INTERNAL }, [VenueAndId], [[venue, marketId]], async (input) =>
      gatedMark(this.env.D1_MARKETS, { venue: input[0], marketId: input[1], now: Date.now() }),
    );
  }

  async preTradeCheck(
    venue: Venue,
    marketId: string,
    evidenceHashes: string[],
  ): Promise<Result<PreTradeCheck>> {
    const input = parseInput(PreTradeInput, { venue, marketId, evidenceHashes });
    if (!input.ok) return input;
    return rpc(async () => ok(await preTradeCheck(this.env.D1_MARKETS, input.value, Date.now())), {
      what: "preTradeCheck",
      ...INTERNAL,
    });
  }

  async listEvidence(
    query: EvidenceQuery,
  ): Promise<Result<{ evidence: EvidenceRecord[]; cursor: string | null }>> {
    return answerPage(
      { query: EvidenceQuery, cursor: EvidenceCursor },
      query,
      { what: "listEvidence", ...INTERNAL },
      async (q, after) => ok(await evidencePage(this.env.D1_MARKETS, q, after)),
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
    return serve({ what: "getEvidence", ...INTERNAL }, [Sha256Hex], [hash], async (input) =>
      evidenceObject(evidenceStore(this.env), input),
    );
  }

  async listFetches(query: FetchLogQuery): Promise<Result<FetchLogPage>> {
    return answerPage(
      { query: FetchLogQuery, cursor: FetchLogCursor },
      query,
      { what: "listFetches", ...INTERNAL },
      async (q, after) => ok(await fetchLogPage(this.env.D1_MARKETS, q, after)),
    );
  }

  async getEvidenceObjects(hashes: string[]): Promise<Result<EvidenceObjects>> {
    const input = parseInput(EvidenceObjectsQuery, hashes);
    if (!input.ok) return input;
    if (new Set(input.value).size !== input.value.length)
      return err(ErrorCode.validationFailed, "hashes: each evidence object is asked for once");
    return rpc(() => evidenceObjects(evidenceStore(this.env), input.value, MAX_EVIDENCE_BATCH_BYTES), {
      what: "getEvidenceObjects",
      ...INTERNAL,
    });
  }

  async auditEvidenceIndex(actor: Principal): Promise<Result<EvidenceIndexStep>> {
    return serve({ what: "auditEvidenceIndex", ...INTERNAL }, [Principal], [actor], async (who) => {
      const step = await auditEvidenceIndex(depsFromEnv(this.env, who));
      // The same one line a step logs on the cron's path, so the log tells every step whoever asked for it.
      logIndexStep(step);
      return indexAuditAnswer(step);
    });
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
      [IbkrSnapshotInput],
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
    // Then one step of the evidence index audit (evidence-index.ts). Its failure is logged and fails nothing else:
    // the next run takes the same page again.
    await auditEvidenceIndex(deps).then(logIndexStep, (error: unknown) =>
      console.error(`evidence index audit failed: ${(error as Error)?.message}`),
    );
  }
}

/** Each venue's shared read budget (a Durable Object class must be exported by the main module). */
export { ReadBudget } from "./read-budget";
/** One object per replay run (src/replay/run.ts). */
export { ReplayRun } from "./replay/run";
export default IngestionEntrypoint;
