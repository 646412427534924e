import { Argument, Option } from "commander";
import { type Cli, command, id, jsonArg } from "./context";

/** Strategies (create and move through their lifecycle) and cross-venue market pairs (assess, review). */
export function registerStrategies({ program, call }: Cli): void {
  const strategies = command(
    program,
    "strategies",
    "strategies: list, create, paper, pause, retire, go-live",
  );
  command(strategies, "list", "every strategy").action(() =>
    call("GET", "/admin/strategies", undefined, ["id", "name", "kind", "state", "allocation", "venues"]),
  );
  command(strategies, "create", "create a strategy (a draft)")
    .requiredOption("--name <name>", "a display name")
    .requiredOption("--kind <kind>", "the strategy kind, e.g. cross_venue_rv")
    .requiredOption("--allocation <dollars>", 'e.g. "10000.00"')
    .requiredOption("--venues <venues...>", "kalshi, polymarket, ibkr")
    .option("--params <json>", "parameters (JSON)", jsonArg)
    .action((o: { name: string; kind: string; allocation: string; venues: string[]; params?: unknown }) =>
      call("POST", "/admin/strategies", {
        name: o.name,
        kind: o.kind,
        allocation: o.allocation,
        venues: o.venues,
        ...(o.params === undefined ? {} : { params: o.params }),
      }),
    );
  for (const [verb, what] of [
    ["paper", "move to paper trading"],
    ["pause", "pause"],
    ["retire", "retire (final)"],
  ] as const) {
    command(strategies, verb, what)
      .argument("<id>")
      .action((sid: string) => call("POST", `/admin/strategies/${id(sid)}/${verb}`));
  }
  command(strategies, "go-live", "request the two-person go-live (a person), citing a complete replay")
    .argument("<id>")
    .requiredOption("--replay <replayId>", "a complete replay of this strategy with its current params")
    .action((sid: string, o: { replay: string }) =>
      call("POST", `/admin/strategies/${id(sid)}/go-live`, { replayId: o.replay }),
    );

  // --- replays ----------------------------------------------------------------------------------------------
  const replays = command(
    program,
    "replays",
    "replays of a strategy over recorded evidence: start, list, show",
  );
  command(replays, "start", "replay a strategy over [from, to] of recorded evidence (runs in steps)")
    .argument("<strategyId>")
    .requiredOption("--from <time>", "window start, ISO 8601")
    .requiredOption("--to <time>", "window end, ISO 8601 (not in the future)")
    .option("--params <json>", "other params to replay (JSON object); default: the strategy's own", jsonArg)
    .option("--latency <ms>", "decision-to-fill latency in ms (default 250)", (x: string) => Number(x))
    .action((sid: string, o: { from: string; to: string; params?: unknown; latency?: number }) =>
      call("POST", "/admin/replays", {
        strategyId: sid,
        from: o.from,
        to: o.to,
        ...(o.params === undefined ? {} : { params: o.params }),
        ...(o.latency === undefined ? {} : { latencyMs: o.latency }),
      }),
    );
  command(replays, "list", "a strategy's replays, newest first")
    .argument("<strategyId>")
    .action((sid: string) => call("GET", `/admin/replays?strategyId=${encodeURIComponent(sid)}`));
  command(replays, "show", "one replay, with its report once complete")
    .argument("<replayId>")
    .action((rid: string) => call("GET", `/admin/replays/${id(rid)}`));

  // --- market pairs ---------------------------------------------------------------------------------------
  const pairs = command(program, "pairs", "cross-venue market pairs: list, assess, review");
  command(pairs, "list", "candidates, grades, reviews")
    .addOption(
      new Option("--review <state>", "only this review state").choices(["pending", "approved", "rejected"]),
    )
    .action((o: { review?: string }) => call("GET", `/admin/pairs${o.review ? `?review=${o.review}` : ""}`));
  command(pairs, "assess", "run the LLM equivalence assessment on one pair")
    .argument("<id>")
    .action((pid: string) => call("POST", `/admin/pairs/${id(pid)}/assess`));
  command(pairs, "assess-pending", "assess every pending pair").action(() =>
    call("POST", "/admin/pairs/assess-pending"),
  );
  command(pairs, "review", "approve or reject a pair (a person)")
    .argument("<id>")
    .addArgument(new Argument("<decision>", "approve or reject").choices(["approve", "reject"]))
    .option("--note <text>", "why")
    .action((pid: string, decision: string, o: { note?: string }) =>
      call("POST", `/admin/pairs/${id(pid)}/review`, { decision, ...(o.note ? { note: o.note } : {}) }),
    );
}
