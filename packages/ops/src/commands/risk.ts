import { CliError } from "../client";
import { type Cli, command, jsonArg } from "./context";

/** Risk's settings: limits, the capital base, a dry-run evaluation; and execution's paper/live policy. */
export function registerRisk({ program, api, print, call }: Cli): void {
  const limits = command(program, "limits", "the risk limits");
  command(limits, "show", "the limits and their version").action(() => call("GET", "/admin/risk/limits"));
  command(limits, "set", "change some limits (lowering applies at once; raising needs two people)")
    .argument("<name=value...>", "e.g. maxPositionPct=4 maxOrderQuantity=500 (a JSON value for objects)")
    .action(async (pairs: string[]) => {
      const current = (await (await api()).must("GET", "/admin/risk/limits")) as {
        limits?: Record<string, unknown>;
      } & Record<string, unknown>;
      const base = { ...(current.limits ?? current) };
      delete base.version;
      for (const pair of pairs) {
        const eq = pair.indexOf("=");
        if (eq < 1) throw new CliError(`expected name=value, not ${pair}`, 2);
        const name = pair.slice(0, eq);
        const raw = pair.slice(eq + 1);
        if (!(name in base)) throw new CliError(`no limit named ${name} (see: pnpm paulp limits show)`, 2);
        base[name] =
          typeof base[name] === "number"
            ? Number(raw)
            : typeof base[name] === "string"
              ? raw
              : JSON.parse(raw);
      }
      await call("PUT", "/admin/risk/limits", base);
    });
  command(limits, "replace", "replace every limit from JSON")
    .argument("<json>", "the RiskLimits object (inline, @file or -)", jsonArg)
    .action((limitsJson: unknown) => call("PUT", "/admin/risk/limits", limitsJson));
  const capital = command(program, "capital", "the capital base the % limits apply to");
  command(capital, "show", "equity, day-start equity, high-water mark (from the exposure view)").action(
    async () => {
      const e = (await (await api()).must("GET", "/admin/risk/exposure")) as Record<string, unknown>;
      print(Object.fromEntries(["equity", "dayStartEquity", "highWaterMark"].map((k) => [k, e[k] ?? null])));
    },
  );
  command(capital, "set", "set the capital base (lowering at once; raising needs two people)")
    .argument("<equity>", 'dollars, e.g. "250000.00"')
    .action((equity: string) => call("PUT", "/admin/risk/capital", { equity }));
  command(program, "evaluate", "try an order intent against risk without acting (never consumable)")
    .argument("<intent>", "the OrderIntent (inline JSON, @file or -)", jsonArg)
    .action((intent: unknown) => call("POST", "/admin/risk/evaluate", intent));

  // --- execution policy -----------------------------------------------------------------------------------
  const policy = command(program, "policy", "the execution policy (paper or live)");
  command(policy, "show", "the global mode and each strategy's").action(() =>
    call("GET", "/admin/execution/policy"),
  );
  for (const mode of ["paper", "live"] as const) {
    command(
      policy,
      mode,
      mode === "paper" ? "switch to paper (at once)" : "switch to live (needs two people)",
    )
      .option("--strategy <id>", "only this strategy (default: global)")
      .action((opts: { strategy?: string }) =>
        call("PUT", "/admin/execution/policy", {
          scope: opts.strategy ? `strategy:${opts.strategy}` : "global",
          mode,
        }),
      );
  }
}
