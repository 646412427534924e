import { CliError } from "../client";
import { type Cli, command, int } from "./context";

/** The circuit breaker: read it, halt, move it naming the version acted on. */
export function registerBreaker({ program, io, api, call }: Cli): void {
  command(program, "breaker", "the circuit breaker: state, version, counts").action(() =>
    call("GET", "/admin/circuit-breaker"),
  );
  command(program, "halt", "HALT trading now (always allowed; the specification's emergency procedure)")
    .argument("[reason...]", "why", ["Emergency", "halt"])
    .action((reason: string[]) =>
      call("POST", "/admin/circuit-breaker/transition", { targetState: "HALT", reason: reason.join(" ") }),
    );
  command(program, "transition", "move the breaker, naming the version you act on (read first unless given)")
    .argument("<state>", "NORMAL, CAUTION, HALT or RECOVERY")
    .argument("<reason...>", "why")
    .option("--expected-version <n>", "the breaker version you decided on", int("--expected-version"))
    .action(async (state: string, reason: string[], opts: { expectedVersion?: number }) => {
      const targetState = state.toUpperCase();
      if (!["NORMAL", "CAUTION", "HALT", "RECOVERY"].includes(targetState))
        throw new CliError(`state must be NORMAL, CAUTION, HALT or RECOVERY, not ${state}`, 2);
      const body: Record<string, unknown> = { targetState, reason: reason.join(" ") };
      if (targetState !== "HALT") {
        let version = opts.expectedVersion;
        if (version === undefined) {
          const b = (await (await api()).must("GET", "/admin/circuit-breaker")) as {
            state: string;
            version: number;
            since: string;
            reason: string;
          };
          io.err(
            `breaker is ${b.state} v${b.version} since ${b.since} (${b.reason}); acting on v${b.version}`,
          );
          version = b.version;
        }
        body.expectedVersion = version;
      }
      await call("POST", "/admin/circuit-breaker/transition", body);
    });
}
