import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../src/cli";
import { paulp, REPO_ROOT } from "./helpers";

/** Every command path of the program, e.g. ["approvals", "request"]. */
function commandPaths(): string[][] {
  const program = buildProgram(
    { argv: [], env: {}, out: () => {}, err: () => {}, fetch: globalThis.fetch, root: REPO_ROOT },
    { code: 0 },
  );
  const walk = (c: Command, prefix: string[]): string[][] =>
    c.commands
      .filter((sub) => sub.name() !== "help")
      .flatMap((sub) => [[...prefix, sub.name()], ...walk(sub, [...prefix, sub.name()])]);
  return walk(program, []);
}

describe("pnpm paulp: help and usage", () => {
  it("has --help on every command, exit 0", async () => {
    const paths = commandPaths();
    // Every admin route family the issue names has its command.
    for (const needed of [
      "approvals request",
      "approvals approve",
      "approvals reject",
      "approvals execute",
      "strategies go-live",
      "replays start",
      "replays list",
      "replays show",
      "evidence export",
      "strategies paper",
      "strategies pause",
      "strategies retire",
      "orders cancel",
      "orders place",
      "orders close",
      "capital set",
      "limits set",
      "policy live",
      "anchor",
      "alerts",
      "metrics",
      "preflight",
    ])
      expect(paths.map((p) => p.join(" "))).toContain(needed);
    for (const p of paths) {
      const run = await paulp([...p, "--help"]);
      expect(run.code, p.join(" ")).toBe(0);
      expect(run.out).toContain(`Usage: paulp ${p.join(" ")}`);
    }
  });

  it("answers usage errors with exit 2 and one line, never a stack", async () => {
    const cases: [string[], RegExp][] = [
      [["no-such-command"], /unknown command 'no-such-command'/],
      [["transition"], /missing required argument 'state'/],
      [["transition", "SIDEWAYS", "why"], /state must be NORMAL, CAUTION, HALT or RECOVERY/],
      [
        ["transition", "RECOVERY", "why", "--expected-version", "x"],
        /--expected-version must be a whole number/,
      ],
      [["orders", "list", "--state", "nope"], /Allowed choices are/],
      [["orders", "place", "--venue", "kalshi"], /required option/],
      [["approvals", "request", "not.an.action", "{}"], /Allowed choices are/],
      [["approvals", "request", "risk.capital_increase", "{not json"], /must be JSON/],
      [["preflight"], /exactly one of --env staging\|production or --local/],
      [["preflight", "--env", "production"], /set PAULP_URL to its https URL|PAULP_TOKEN/],
      [["status", "--url", "http://paulp.corp.test"], /refusing to send credentials over http:/],
      [["status", "--url", "not a url"], /not a URL/],
    ];
    for (const [argv, message] of cases) {
      const run = await paulp(argv, { env: { PAULP_TOKEN: "t".repeat(43) } });
      expect(run.code, argv.join(" ")).toBe(2);
      expect(run.err, argv.join(" ")).toMatch(message);
      expect(run.err.trim().split("\n"), argv.join(" ")).toHaveLength(1);
      expect(run.err).not.toMatch(/\n\s+at /);
    }
    // No command at all: the help, on stderr, as a usage error.
    const bare = await paulp([]);
    expect(bare.code).toBe(2);
  });

  it("an unreachable gateway is a failure (exit 1) in one line", async () => {
    // A port that was just free: bound, then closed, so nothing answers there.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const run = await paulp(["status"], {
      env: { PAULP_TOKEN: "t".repeat(43), PAULP_URL: `http://127.0.0.1:${port}` },
    });
    expect(run.code).toBe(1);
    expect(run.err).toBe(`error: cannot reach http://127.0.0.1:${port}: ECONNREFUSED`);
  });
});
