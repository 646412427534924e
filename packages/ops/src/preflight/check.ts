import type { AdminClient } from "../client";
import type { DeployedWorker, Target, WorkerEnvConfig } from "./config";
import type { Live } from "./live";

/** One line of the specification's pre-live checklist, judged. */
export interface CheckLine {
  /** The checklist's own words. */
  item: string;
  ok: boolean;
  reason: string;
}

export interface PreflightInput {
  target: Target;
  /** The repository root (configs and docs). */
  root: string;
  /** The deployed (or local) gateway; without it every live check fails, saying so. */
  client: AdminClient | null;
  /** Secret names set for a worker in the target (`wrangler secret list`, or .dev.vars locally). */
  listSecrets(worker: DeployedWorker): Promise<string[]>;
  now(): number;
}

/** Each deployed worker's config for the target, or why it could not be read. */
export type Configs = Map<DeployedWorker, WorkerEnvConfig | Error>;

/** What every check is given. */
export interface Context {
  input: PreflightInput;
  configs: Configs;
  live: Live;
}

/** One checklist item (or one line per worker); never throws for a failure it can name. */
export type Check = (ctx: Context) => Promise<CheckLine | CheckLine[]>;

export const pass = (item: string, reason: string): CheckLine => ({ item, ok: true, reason });
export const fail = (item: string, reason: string): CheckLine => ({ item, ok: false, reason });

/** The configs that were read, and a line for each that was not. */
export function configured(configs: Configs) {
  const ok: [DeployedWorker, WorkerEnvConfig][] = [];
  const broken: string[] = [];
  for (const [w, c] of configs) {
    if (c instanceof Error) broken.push(`${w}: ${c.message}`);
    else ok.push([w, c]);
  }
  return { ok, broken };
}

/** `judge` the gateway's config; a config that cannot be read fails `item`, saying why. */
export function withGatewayConfig(
  configs: Configs,
  item: string,
  judge: (gateway: WorkerEnvConfig) => Promise<CheckLine>,
): Promise<CheckLine> {
  const gateway = configs.get("gateway");
  if (!gateway || gateway instanceof Error)
    return Promise.resolve(fail(item, `workers/gateway/wrangler.jsonc: ${gateway?.message ?? "missing"}`));
  return judge(gateway);
}

/** How a line judged by the gateway itself reads in each outcome. */
export interface GatewaySays {
  /** The gateway does not report this check. */
  unreported: string;
  ok(detail: string | undefined): string;
  refused(detail: string | undefined): string;
  /** The gateway could not be asked (default: the error's message). */
  unasked?(message: string): string;
}

/** An item the running gateway judges itself (one of the configuration checks in its /admin/status). */
export async function gatewaySays(
  live: Live,
  item: string,
  name: string,
  says: GatewaySays,
): Promise<CheckLine> {
  try {
    const check = await live.gatewayCheck(name);
    if (!check) return fail(item, says.unreported);
    return check.ok ? pass(item, says.ok(check.detail)) : fail(item, says.refused(check.detail));
  } catch (error) {
    const message = (error as Error).message;
    return fail(item, says.unasked ? says.unasked(message) : message);
  }
}
