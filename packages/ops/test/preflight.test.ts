import { randomBytes, randomUUID } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { auxWorker, workerMigrations } from "@paulp/testing";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateAuditKey } from "../../../scripts/audit-keygen.mjs";
import { AdminClient } from "../src/client";
import { DEPLOYED_WORKERS, type DeployedWorker, envConfig } from "../src/preflight/config";
import { type CheckLine, preflight } from "../src/preflight/run";
import { copyOfRepo, edit, paulp, REPO_ROOT } from "./helpers";

// The real mesh (every worker's prebuilt bundle, its own wrangler.jsonc top level: the dev configuration) in
// Miniflare, with the gateway on a loopback port: the CLI talks to it over HTTP exactly as to `pnpm dev`.
const ADMIN_TOKEN = randomBytes(32).toString("base64url");
let mf: Miniflare;
let url: string;
let root: string;

/** Every secret each worker's config requires for a target: what a complete `wrangler secret put` round sets. */
function requiredSecrets(target: "local" | "production"): Record<DeployedWorker, string[]> {
  return Object.fromEntries(
    DEPLOYED_WORKERS.map((w) => [w, envConfig(REPO_ROOT, w, target).secrets?.required ?? []]),
  ) as Record<DeployedWorker, string[]>;
}
const SECRETS = requiredSecrets("local");

beforeAll(async () => {
  mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    workers: [
      auxWorker("gateway", { bindings: { ADMIN_TOKEN } }),
      // The anchor signing key pnpm dev writes to the audit worker's .dev.vars: no key, no anchor.
      auxWorker("audit", { bindings: { AUDIT_SIGNING_KEY: generateAuditKey().signerKey } }),
      auxWorker("governance"),
      auxWorker("risk"),
      auxWorker("ingestion"),
      auxWorker("execution"),
      auxWorker("monitor"),
      auxWorker("venue-sim"),
    ],
  });
  url = (await mf.ready).origin;
  for (const [worker, binding, name] of [
    ["audit", "D1_ANCHOR", "paulp-audit"],
    ["governance", "D1_GOVERNANCE", "paulp-governance"],
    ["ingestion", "D1_MARKETS", "paulp-ingestion"],
  ] as const) {
    const db = await mf.getD1Database(binding, name);
    for (const m of await workerMigrations(worker)) for (const sql of m.queries) await db.prepare(sql).run();
  }
  // What `pnpm dev` writes: each worker's secrets in its .dev.vars (values never read by the preflight).
  root = copyOfRepo();
  for (const [w, names] of Object.entries(SECRETS))
    writeFileSync(path.join(root, "workers", w, ".dev.vars"), names.map((n) => `${n}="x"`).join("\n"));
});

afterAll(async () => {
  await mf?.dispose();
  if (root) rmSync(root, { recursive: true, force: true });
});

const env = () => ({ PAULP_URL: url, PAULP_TOKEN: ADMIN_TOKEN });
const failing = (lines: CheckLine[]) => lines.filter((l) => !l.ok).map((l) => l.item);

async function local(at = root): Promise<CheckLine[]> {
  const client = new AdminClient({ base: url, env: env(), fetch, devToken: () => undefined });
  return preflight({
    target: "local",
    root: at,
    client,
    listSecrets: async (w) =>
      (await import("node:fs"))
        .readFileSync(path.join(at, "workers", w, ".dev.vars"), "utf8")
        .split("\n")
        .map((l) => l.split("=")[0]!)
        .filter(Boolean),
    now: Date.now,
  });
}

describe("pnpm paulp preflight --local against the mesh", () => {
  it("fails on a mesh never drilled (no anchor, no breaker test), then passes once the runbook's steps are done", async () => {
    const before = await paulp(["preflight", "--local"], { env: env(), root });
    expect(before.code).toBe(1);
    expect(before.out).toMatch(/^FAIL {2}Audit chain anchoring verified: no anchor yet/m);
    expect(before.out).toMatch(/^FAIL {2}Circuit breaker tested: no operator HALT/m);
    expect(before.out).toMatch(/preflight local: 2 of \d+ checks failed/);

    // The drill, through the CLI: halt, recover naming the version read, anchor.
    expect((await paulp(["halt", "preflight", "drill"], { env: env() })).code).toBe(0);
    const recover = await paulp(["transition", "RECOVERY", "drill", "over"], { env: env() });
    expect(recover.code).toBe(0);
    expect(recover.err).toMatch(/breaker is HALT v\d+ .* acting on v\d+/);
    expect((await paulp(["anchor"], { env: env() })).code).toBe(0);

    const after = await paulp(["preflight", "--local", "--json"], { env: env(), root });
    const report = JSON.parse(after.out) as { ok: boolean; checks: CheckLine[] };
    expect(failing(report.checks)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(after.code).toBe(0);
    // Every checklist line of the specification is there.
    const items = report.checks.map((c) => c.item).join("\n");
    for (const line of [
      "All secrets set",
      "ADMIN_TOKEN is strong",
      "Cloudflare Access configured",
      "`workers_dev` and `preview_urls` off",
      "No secrets in wrangler config",
      "No placeholder D1",
      "A route or custom domain",
      "Audit chain anchoring verified",
      "Position reconciliation working",
      "Circuit breaker tested",
      "Two-person approval process documented",
      "Incident response contacts defined",
    ])
      expect(items).toContain(line);
  });

  it("fails on each configuration item broken one at a time, naming it", async () => {
    expect(failing(await local())).toEqual([]);
    const breakages: [string, string, (t: string) => string, RegExp][] = [
      [
        "workers/execution/.dev.vars",
        "a secret not set",
        (t) => t.replace(/KALSHI_PRIVATE_KEY.*/, ""),
        /execution/,
      ],
      [
        "workers/risk/wrangler.jsonc",
        "workers_dev on",
        (t) => t.replace('"workers_dev": false', '"workers_dev": true'),
        /workers_dev/,
      ],
      [
        "workers/audit/wrangler.jsonc",
        "preview_urls left out (it defaults to on)",
        (t) => t.replace('"preview_urls": false,', ""),
        /preview_urls/,
      ],
      [
        "workers/governance/wrangler.jsonc",
        "a secret in a var",
        (t) =>
          t.replace(
            '"vars": {',
            `"vars": {\n    "ANTHROPIC_API_KEY": "${["sk", "ant", "api03"].join("-")}-abcdefghijklmnopqrstuvwxyz",`,
          ),
        /No secrets/,
      ],
      [
        "workers/ingestion/wrangler.jsonc",
        "a placeholder D1 id",
        (t) =>
          t.replace('"database_id": "local-paulp-markets"', '"database_id": "REPLACE_WITH_PAULP_MARKETS_ID"'),
        /placeholder D1/,
      ],
      [
        "workers/gateway/wrangler.jsonc",
        "Access off",
        (t) => t.replace('"ACCESS_AUD": "paulp-dev-aud"', '"ACCESS_AUD": ""'),
        /Cloudflare Access/,
      ],
      [
        "workers/gateway/wrangler.jsonc",
        "placeholder contacts",
        (t) => t.replace('"email": "backup@paulp.dev"', '"email": "backup@REPLACE_WITH_YOUR_DOMAIN"'),
        /Incident response contacts/,
      ],
      [
        "docs/governance.md",
        "a two-person action undocumented",
        (t) => t.replaceAll("governance.roster_change", "x"),
        /Two-person/,
      ],
      [
        "docs/runbook.md",
        "the runbook not naming the contacts",
        (t) => t.replaceAll("INCIDENT_CONTACTS", "contacts"),
        /Incident/,
      ],
    ];
    for (const [file, what, change, item] of breakages) {
      const at = copyOfRepo();
      try {
        for (const [w, names] of Object.entries(SECRETS))
          writeFileSync(path.join(at, "workers", w, ".dev.vars"), names.map((n) => `${n}="x"`).join("\n"));
        edit(at, file, change);
        const lines = await local(at);
        const failed = failing(lines);
        expect(failed, what).toHaveLength(1);
        expect(failed[0], what).toMatch(item);
      } finally {
        rmSync(at, { recursive: true, force: true });
      }
    }
  });
});

describe("preflight --env production: the shipped placeholders are refused until set", () => {
  /** A production config as the operators would fill it in. */
  function filledIn(at: string) {
    const uuid = () => randomUUID();
    for (const [w, id] of [
      ["audit", "REPLACE_WITH_PAULP_ANCHOR_ID"],
      ["governance", "REPLACE_WITH_PAULP_GOVERNANCE_ID"],
      ["ingestion", "REPLACE_WITH_PAULP_MARKETS_ID"],
    ] as const)
      edit(at, `workers/${w}/wrangler.jsonc`, (t) => t.replace(id, uuid()));
    edit(at, "workers/gateway/wrangler.jsonc", (t) => {
      const i = t.indexOf('"production"');
      const prod = t
        .slice(i)
        .replace('"admin.paulp.example"', '"paulp-admin.corp.dev"')
        .replace('"ACCESS_TEAM_DOMAIN": ""', '"ACCESS_TEAM_DOMAIN": "paulp-dev.cloudflareaccess.com"')
        .replace('"ACCESS_AUD": ""', '"ACCESS_AUD": "paulp-dev-aud"')
        .replace(
          /"REPLACE_WITH_NAME",(\s*)"email": "oncall@REPLACE_WITH_YOUR_DOMAIN"/,
          '"Ann Oncall",$1"email": "ann@corp.dev"',
        )
        .replace(
          /"REPLACE_WITH_NAME",(\s*)"email": "backup@REPLACE_WITH_YOUR_DOMAIN"/,
          '"Ben Backup",$1"email": "ben@corp.dev"',
        );
      return t.slice(0, i) + prod;
    });
  }

  /** What `wrangler secret list --env production` prints, by name, once every secret is put. */
  const PRODUCTION_SECRETS = requiredSecrets("production");

  async function production(at: string, secrets = PRODUCTION_SECRETS): Promise<CheckLine[]> {
    // The local mesh stands in for the deployed gateway (its live checks); the secrets are what
    // `wrangler secret list --env production` would print.
    const client = new AdminClient({ base: url, env: env(), fetch, devToken: () => undefined });
    return preflight({
      target: "production",
      root: at,
      client,
      listSecrets: async (w) => secrets[w],
      now: Date.now,
    });
  }

  it("the configs as shipped fail on D1 ids, the gateway's hostname, Access and contacts", async () => {
    const at = copyOfRepo();
    try {
      const lines = await production(at);
      expect(failing(lines)).toEqual([
        "Cloudflare Access configured for admin routes",
        "No placeholder D1 database ids",
        "A route or custom domain for the gateway",
        "Incident response contacts defined",
      ]);
      expect(lines.find((l) => l.item.startsWith("A route"))?.reason).toMatch(
        /placeholder hostname admin\.paulp\.example/,
      );
    } finally {
      rmSync(at, { recursive: true, force: true });
    }
  });

  it("filled in, it passes; a missing production secret fails", async () => {
    const at = copyOfRepo();
    try {
      filledIn(at);
      const filled = await production(at);
      expect(filled.filter((l) => !l.ok)).toEqual([]);
      const lines = await production(at, { ...PRODUCTION_SECRETS, gateway: [] });
      expect(failing(lines)).toEqual(["All secrets set via `wrangler secret put`: gateway"]);
      expect(lines.find((l) => !l.ok)?.reason).toBe("not set: ADMIN_TOKEN");
    } finally {
      rmSync(at, { recursive: true, force: true });
    }
  });
});

describe("pnpm paulp audit receipts against the mesh", () => {
  it("exit 0 for a receipt the chain holds (a reconciliation's), exit 2 for one that is not seq:hash", async () => {
    const client = new AdminClient({ base: url, env: env(), fetch, devToken: () => undefined });
    const report = (await client.must("POST", "/admin/reconcile")) as { auditSeq: number; auditHash: string };
    const held = await paulp(["audit", "receipts", `${report.auditSeq}:${report.auditHash}`, "--json"], {
      env: env(),
    });
    expect(held.code).toBe(0);
    expect(JSON.parse(held.out)).toMatchObject({ ok: true, checked: 1, held: 1, broken: [] });
    const malformed = await paulp(["audit", "receipts", `${report.auditSeq}`], { env: env() });
    expect(malformed.code).toBe(2);
    expect(malformed.err).toMatch(/is not <seq>:<64 lowercase hex digits>/);
  });
});

describe("the runbook's URLs", () => {
  it("are the custom domains the gateway's staging and production configs attach", async () => {
    const { readFileSync } = await import("node:fs");
    const { envConfig, routeHosts } = await import("../src/preflight/config");
    const { REPO_ROOT } = await import("./helpers");
    const runbook = readFileSync(path.join(REPO_ROOT, "docs", "runbook.md"), "utf8");
    const urls = new Set([...runbook.matchAll(/https:\/\/([a-z0-9.-]+)/g)].map((m) => m[1]));
    for (const target of ["staging", "production"] as const) {
      const hosts = routeHosts(envConfig(REPO_ROOT, "gateway", target));
      expect(hosts).toHaveLength(1);
      expect(urls, target).toContain(hosts[0]);
    }
    // No other admin URL is offered: workers.dev only where the runbook says it cannot exist.
    expect(runbook.match(/BASE=https:\/\/([a-z0-9.-]+)/)?.[1]).toBe(
      routeHosts(envConfig(REPO_ROOT, "gateway", "production"))[0],
    );
  });
});
