import { readFileSync } from "node:fs";
import path from "node:path";
import { isPlaceholder } from "@paulp/contracts";
import { type ParseError, parse, printParseErrorCode } from "jsonc-parser";

/** The workers that are deployed, in binding order (the simulator never is). */
export const DEPLOYED_WORKERS = [
  "audit",
  "governance",
  "risk",
  "ingestion",
  "execution",
  "monitor",
  "gateway",
] as const;
export type DeployedWorker = (typeof DEPLOYED_WORKERS)[number];

/** Where the preflight runs: a named environment of the configs, or their top level (the local dev mesh). */
export type Target = "staging" | "production" | "local";

/** The part of a wrangler config the checklist reads (named environments do not inherit these). */
export interface WorkerEnvConfig {
  name?: string;
  workers_dev?: boolean;
  preview_urls?: boolean;
  routes?: (string | { pattern: string; custom_domain?: boolean; zone_name?: string; zone_id?: string })[];
  route?: string | { pattern: string };
  vars?: Record<string, unknown>;
  secrets?: { required?: string[] };
  d1_databases?: { binding: string; database_name?: string; database_id?: string }[];
}

interface RawConfig extends WorkerEnvConfig {
  env?: Record<string, WorkerEnvConfig>;
}

/** Read a wrangler.jsonc (comments and trailing commas allowed, as wrangler reads it). */
export function readJsonc(file: string): RawConfig {
  const errors: ParseError[] = [];
  const value = parse(readFileSync(file, "utf8"), errors, { allowTrailingComma: true });
  if (errors.length > 0) {
    const e = errors[0]!;
    throw new Error(`${file}: ${printParseErrorCode(e.error)} at offset ${e.offset}`);
  }
  return value as RawConfig;
}

export function configPath(root: string, worker: string): string {
  return path.join(root, "workers", worker, "wrangler.jsonc");
}

/** The config a deploy to `target` uses: the named environment's block, or the top level for local. */
export function envConfig(root: string, worker: DeployedWorker, target: Target): WorkerEnvConfig {
  const raw = readJsonc(configPath(root, worker));
  if (target === "local") return raw;
  const block = raw.env?.[target];
  if (!block) throw new Error(`workers/${worker}/wrangler.jsonc has no env.${target}`);
  return block;
}

/** Names that only a secret should carry (the specification's secrets and any *_KEY/_TOKEN/_SECRET/_PASSWORD). */
const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSWORD|PRIVATE|CREDENTIAL)S?$/i;

/** Values that are secrets whatever their name: key material and the venues' and Anthropic's key formats. */
const SECRET_VALUE = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /\bsk-(ant-)?[A-Za-z0-9_-]{20,}/,
  /\bBearer\s+[A-Za-z0-9._~+/-]{20,}/,
  /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./, // a JWT
];

/** Where a config carries a secret in plain sight: a var named like one, or a value shaped like one. */
export function secretsInConfig(config: WorkerEnvConfig): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(config.vars ?? {})) {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    if (SECRET_NAME.test(name) && text !== "" && !/^(AUD|ID)$/i.test(name)) found.push(`vars.${name}`);
    else if (SECRET_VALUE.some((re) => re.test(text))) found.push(`vars.${name} (value looks like a secret)`);
  }
  return found;
}

/** D1 ids a deploy cannot use: placeholders, or anything that is not a Cloudflare database UUID. */
export function badD1Ids(config: WorkerEnvConfig, target: Target): string[] {
  return (config.d1_databases ?? [])
    .filter((d) => {
      const id = d.database_id ?? "";
      if (isPlaceholder(id) || id === "") return true;
      return (
        target !== "local" && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)
      );
    })
    .map((d) => `${d.binding}=${d.database_id ?? "(none)"}`);
}

/** The hostnames a config attaches (routes and custom domains), without paths. */
export function routeHosts(config: WorkerEnvConfig): string[] {
  const all = [...(config.routes ?? []), ...(config.route ? [config.route] : [])];
  return all.map((r) =>
    (typeof r === "string" ? r : r.pattern).replace(/^https?:\/\//, "").replace(/\/.*$/, ""),
  );
}
