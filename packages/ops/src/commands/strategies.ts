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
    ["go-live", "request the two-person go-live (a person)"],
  ] as const) {
    command(strategies, verb, what)
      .argument("<id>")
      .action((sid: string) => call("POST", `/admin/strategies/${id(sid)}/${verb}`));
  }

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
