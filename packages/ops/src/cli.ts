// The CLI's entry: the program, its global options and the shared helpers; each command group is a
// module under commands/ (registered in the order `paulp --help` lists them).
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { AdminClient, CliError } from "./client";
import { registerApprovals } from "./commands/approvals";
import { registerAudit } from "./commands/audit";
import { registerBreaker } from "./commands/breaker";
import type { Cli, Globals, Io } from "./commands/context";
import { registerDesk } from "./commands/desk";
import { registerIngestion } from "./commands/ingestion";
import { registerMonitor } from "./commands/monitor";
import { registerOrders } from "./commands/orders";
import { registerPreflight } from "./commands/preflight";
import { registerRisk } from "./commands/risk";
import { registerStrategies } from "./commands/strategies";
import { render } from "./table";

export type { Io } from "./commands/context";

/** Build the program: the global options, the shared helpers, then each command group in help order. */
export function buildProgram(io: Io, exit: { code: number }): Command {
  const port = io.env.PORT ?? "8787";
  const program = new Command("paulp")
    .description(
      "Operate Paul P over its admin API.\n" +
        "Credentials: PAULP_TOKEN (the ADMIN_TOKEN) or PAULP_ACCESS_JWT (a person, through Cloudflare Access);\n" +
        "against a local mesh the dev token is used and --as <email> signs in as a person.\n" +
        "Exit status: 0 done, 1 refused or failed, 2 usage.",
    )
    .option("--url <url>", "the gateway (env: PAULP_URL)", io.env.PAULP_URL ?? `http://127.0.0.1:${port}`)
    .option("--json", "print the answer as JSON instead of a table")
    .option("--as <email>", "act as this person (local mesh only: its Access double signs you in)")
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, "")),
      writeErr: (s) => io.err(s.replace(/\n$/, "")),
      outputError: (s, write) => write(s.replace(/\n$/, "")),
    });

  const globals = () => program.opts<Globals>();
  let client: AdminClient | undefined;
  const api = async () => {
    if (client) return client;
    client = new AdminClient({
      base: globals().url,
      env: io.env,
      fetch: io.fetch,
      devToken: () => devToken(io.root),
    });
    if (globals().as) await client.signInLocally(globals().as!);
    return client;
  };
  const print = (value: unknown, columns?: string[]) => {
    if (globals().json) io.out(JSON.stringify(value, null, 2));
    else io.out(render(value, columns));
  };
  /** Call a route and print its answer; a refusal is one line and exit 1. */
  const call = async (method: string, route: string, body?: unknown, columns?: string[]): Promise<void> => {
    print(await (await api()).must(method, route, body), columns);
  };

  const cli: Cli = { program, io, exit, globals, api, print, call };
  for (const register of [
    registerDesk,
    registerBreaker,
    registerAudit,
    registerRisk,
    registerApprovals,
    registerStrategies,
    registerOrders,
    registerIngestion,
    registerMonitor,
    registerPreflight,
  ])
    register(cli);
  return program;
}

function devToken(root: string): string | undefined {
  const file = path.join(root, "workers", "gateway", ".dev.vars");
  if (!existsSync(file)) return undefined;
  const line = readFileSync(file, "utf8")
    .split("\n")
    .find((l) => l.startsWith("ADMIN_TOKEN="));
  return line ? (JSON.parse(line.slice("ADMIN_TOKEN=".length)) as string) : undefined;
}

/** Run the CLI; resolves to the exit status. Errors are one line on stderr, never a stack. */
export async function main(io: Io): Promise<number> {
  const exit = { code: 0 };
  const program = buildProgram(io, exit);
  if (io.argv.length === 0) {
    program.outputHelp({ error: true });
    return 2;
  }
  try {
    await program.parseAsync(io.argv, { from: "user" });
    return exit.code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are successes; anything else commander refuses is a usage error.
      return error.code === "commander.helpDisplayed" ||
        error.code === "commander.version" ||
        error.code === "commander.help"
        ? 0
        : 2;
    }
    if (error instanceof CliError) {
      io.err(`error: ${error.message}`);
      if (program.opts<Globals>().json && error.body !== undefined)
        io.out(JSON.stringify(error.body, null, 2));
      return error.exitCode;
    }
    if (error instanceof InvalidArgumentError) {
      io.err(`error: ${error.message}`);
      return 2;
    }
    io.err(`error: ${(error as Error)?.message ?? String(error)}`.split("\n")[0]!);
    return 1;
  }
}
