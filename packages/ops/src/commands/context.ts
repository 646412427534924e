import { readFileSync } from "node:fs";
import { type Command, InvalidArgumentError } from "commander";
import type { AdminClient } from "../client";
import type { DeployedWorker, Target } from "../preflight/config";

/** What the CLI touches of the world: injected so tests run it in-process. */
export interface Io {
  argv: string[];
  env: Record<string, string | undefined>;
  out(text: string): void;
  err(text: string): void;
  fetch: typeof fetch;
  /** The repository root (dev token, configs, docs). */
  root: string;
  /** `wrangler secret list` for one worker and environment: the secret names. */
  listSecrets?(worker: DeployedWorker, target: Exclude<Target, "local">): Promise<string[]>;
}

/** The program-wide options. */
export interface Globals {
  url: string;
  json?: boolean;
  as?: string;
}

/** What every command group is registered with: the program and the helpers its actions share. */
export interface Cli {
  program: Command;
  io: Io;
  /** The exit status `main` returns; an action sets 1 for a refusal it printed. */
  exit: { code: number };
  globals(): Globals;
  /** The admin client, signed in once (with --as, through the local Access double). */
  api(): Promise<AdminClient>;
  /** Print an answer: JSON with --json, else a table (of `columns` when given). */
  print(value: unknown, columns?: string[]): void;
  /** Call a route and print its answer; a refusal is one line and exit 1. */
  call(method: string, route: string, body?: unknown, columns?: string[]): Promise<void>;
}

/** A sub-command of `parent` with its description. */
export const command = (parent: Command, spec: string, description: string) =>
  parent.command(spec).description(description);

/** One path segment, escaped. */
export const id = (s: string) => encodeURIComponent(s);

/** A whole-number option or argument. */
export const int = (name: string) => (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number`);
  return Number(value);
};

/** JSON from an argument: inline, `@file`, or `-` for stdin. */
export function jsonArg(value: string): unknown {
  const text =
    value === "-"
      ? readFileSync(0, "utf8")
      : value.startsWith("@")
        ? readFileSync(value.slice(1), "utf8")
        : value;
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidArgumentError("must be JSON (inline, @file or - for stdin)");
  }
}
