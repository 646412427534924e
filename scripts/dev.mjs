// `pnpm dev`: the whole mesh in one local process, in paper mode, against the venue simulators.
// 1. writes local-only secrets (.dev.vars) where none exist: a random ADMIN_TOKEN, a fresh Kalshi RSA key
//    pair for execution (full access) and a second one for ingestion (read-only), whose public halves the
//    simulator trusts, a dev Anthropic key the simulator accepts, a fresh Ed25519 key the audit worker signs
//    anchors with; and runs the simulator's realistic universe (SIM_UNIVERSE=realistic: 50,000 Kalshi markets);
// 2. applies every D1 migration to the local state folder;
// 3. runs `wrangler dev` with every worker's config (real service bindings, local D1/R2/Durable Objects
//    under one --persist-to), gateway first so it gets http://127.0.0.1:8787;
// 4. drives the Cron Triggers, which `wrangler dev` does not fire by itself, through each worker's
//    scheduled handler (see scripts/dev-cron.mjs).
import { spawn, spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { generateAuditKey } from "./audit-keygen.mjs";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
// PAULP_STATE_DIR: another state folder (the soak starts each run on a fresh one).
const persistTo = process.env.PAULP_STATE_DIR
  ? path.resolve(process.env.PAULP_STATE_DIR)
  : path.join(root, ".wrangler", "state");
const port = Number(process.env.PORT ?? 8787);
const env = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME ?? path.join(root, ".xdg"),
};
const wrangler = path.join(root, "node_modules", ".bin", "wrangler");
// Order matters only for the first entry (the one served on the port and whose folder keeps state).
const WORKERS = ["gateway", "audit", "governance", "risk", "ingestion", "execution", "monitor", "venue-sim"];
const D1 = [
  ["audit", "D1_ANCHOR"],
  ["governance", "D1_GOVERNANCE"],
  ["ingestion", "D1_MARKETS"],
];
// Dev-only vars (Access team, IBKR gateway host) are in each config's top level, the local environment:
// with `secrets.required` declared, wrangler reads only those secrets from .dev.vars.

function devVarsPath(worker) {
  return path.join(root, "workers", worker, ".dev.vars");
}

function readDevVars(worker) {
  const file = devVarsPath(worker);
  if (!existsSync(file)) return {};
  const out = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** Adds only the keys that are missing, so an operator's own values are never overwritten. */
function ensureDevVars(worker, values, header) {
  const existing = readDevVars(worker);
  const missing = Object.entries(values).filter(([k]) => !(k in existing));
  if (missing.length === 0) return existing;
  const file = devVarsPath(worker);
  const prefix = existsSync(file)
    ? readFileSync(file, "utf8").replace(/\n?$/, "\n")
    : `# ${header}\n# Local only: never commit (ignored by git).\n`;
  const lines = missing.map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  writeFileSync(file, `${prefix}${lines.join("\n")}\n`, { mode: 0o600 });
  return readDevVars(worker);
}

/** Sets one key (replacing its line, or adding it). */
function setDevVar(worker, key, value) {
  const file = devVarsPath(worker);
  const lines = existsSync(file) ? readFileSync(file, "utf8").split("\n") : ["# written by pnpm dev"];
  const line = `${key}=${JSON.stringify(value)}`;
  const at = lines.findIndex((l) => l.startsWith(`${key}=`));
  if (at >= 0) lines[at] = line;
  else lines.splice(lines.at(-1) === "" ? lines.length - 1 : lines.length, 0, line);
  writeFileSync(file, `${lines.join("\n").replace(/\n*$/, "")}\n`, { mode: 0o600 });
}

function setUpSecrets() {
  const gatewayVars = ensureDevVars(
    "gateway",
    {
      // 32 random bytes in base64url: 43 characters.
      ADMIN_TOKEN: randomBytes(32).toString("base64url"),
    },
    "gateway dev secrets, written by pnpm dev",
  );
  const execVars = readDevVars("execution");
  if (!("KALSHI_PRIVATE_KEY" in execVars)) {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const keyId = randomUUID();
    ensureDevVars(
      "execution",
      {
        KALSHI_API_KEY: keyId,
        KALSHI_PRIVATE_KEY: privateKey.export({ type: "pkcs8", format: "pem" }),
      },
      "execution dev secrets, written by pnpm dev (a fresh Kalshi key pair for the simulator)",
    );
    ensureDevVars(
      "venue-sim",
      {
        SIM_KALSHI_PUBLIC_KEYS: `${keyId}:${publicKey.export({ type: "spki", format: "der" }).toString("base64")}`,
      },
      "venue simulator dev config, written by pnpm dev",
    );
  }
  // Ingestion's own Kalshi key, read-only (never execution's): it signs the order-book reads. The simulator is
  // told its public half with the `read` scope, so it refuses this key an order as Kalshi would.
  if (!("KALSHI_READ_PRIVATE_KEY" in readDevVars("ingestion"))) {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const keyId = randomUUID();
    ensureDevVars(
      "ingestion",
      {
        KALSHI_READ_API_KEY: keyId,
        KALSHI_READ_PRIVATE_KEY: privateKey.export({ type: "pkcs8", format: "pem" }),
      },
      "ingestion dev secrets, written by pnpm dev (a read-only Kalshi key pair for the simulator)",
    );
    const entry = `${keyId}:${publicKey.export({ type: "spki", format: "der" }).toString("base64")}:read`;
    const sim = readDevVars("venue-sim");
    const trusted = sim.SIM_KALSHI_PUBLIC_KEYS ? JSON.parse(sim.SIM_KALSHI_PUBLIC_KEYS) : "";
    setDevVar("venue-sim", "SIM_KALSHI_PUBLIC_KEYS", trusted ? `${trusted},${entry}` : entry);
  }
  ensureDevVars(
    "venue-sim",
    { SIM_UNIVERSE: "realistic" },
    "venue simulator dev config, written by pnpm dev",
  );
  const anthropicKey =
    readDevVars("governance").ANTHROPIC_API_KEY ?? `sk-sim-${randomBytes(24).toString("base64url")}`;
  ensureDevVars(
    "governance",
    { ANTHROPIC_API_KEY: anthropicKey },
    "governance dev secrets, written by pnpm dev",
  );
  if (!("AUDIT_SIGNING_KEY" in readDevVars("audit")))
    ensureDevVars(
      "audit",
      { AUDIT_SIGNING_KEY: generateAuditKey().signerKey },
      "audit dev secrets, written by pnpm dev (the anchor signing key; its public half is in /admin/audit/status)",
    );
  return JSON.parse(gatewayVars.ADMIN_TOKEN);
}

function migrate() {
  mkdirSync(persistTo, { recursive: true });
  for (const [worker, binding] of D1) {
    const result = spawnSync(
      wrangler,
      [
        "d1",
        "migrations",
        "apply",
        binding,
        "--local",
        "--persist-to",
        persistTo,
        "-c",
        path.join("workers", worker, "wrangler.jsonc"),
      ],
      { cwd: root, env, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" },
    );
    if (result.status !== 0) {
      console.error(result.stdout, result.stderr);
      throw new Error(`D1 migrations failed for ${worker}/${binding}`);
    }
  }
  console.log("local D1 migrations applied");
}

async function waitForHealth(timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      if (res.ok) return true;
    } catch {}
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

const adminToken = setUpSecrets();
migrate();
// The console's files (workers/gateway/console and the vendored uPlot) into the gateway's bundle.
if (
  spawnSync(process.execPath, [path.join(root, "workers", "gateway", "scripts", "bundle-console.mjs")], {
    stdio: "inherit",
  }).status !== 0
)
  throw new Error("bundling the console's files failed");
const args = ["dev", ...WORKERS.flatMap((w) => ["-c", path.join("workers", w, "wrangler.jsonc")])];
args.push(
  "--persist-to",
  persistTo,
  "--ip",
  "127.0.0.1",
  "--port",
  String(port),
  "--test-scheduled",
  "--show-interactive-dev-session=false",
);
// PAULP_INSPECTOR_PORT: another port for wrangler's inspector (two meshes on one machine); default unchanged.
if (process.env.PAULP_INSPECTOR_PORT) args.push("--inspector-port", process.env.PAULP_INSPECTOR_PORT);
const dev = spawn(wrangler, args, { cwd: root, env, stdio: ["ignore", "inherit", "inherit"] });
const stop = () => dev.kill("SIGINT");
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
dev.on("exit", (code) => process.exit(code ?? 0));

if (await waitForHealth(90_000)) {
  console.log(`
Paul P is running (paper mode, venue simulators) at http://127.0.0.1:${port}
  Admin token: workers/gateway/.dev.vars (ADMIN_TOKEN)
  curl -H "Authorization: Bearer $(node scripts/dev-token.mjs)" http://127.0.0.1:${port}/admin/status
  Console: http://127.0.0.1:${port}/console
  Alerts: /admin/alerts; the emails they would send: /admin/alerts/outbox
`);
  if (process.env.PAULP_DEV_SEED !== "0") {
    const { seedDev } = await import("./dev-seed.mjs");
    // Each step resumes where a try stopped (a step refused while the machine is busy, e.g. `audit_unavailable`).
    for (let attempt = 1, seeded = false; attempt <= 3 && !seeded; attempt++) {
      seeded = await seedDev({ base: `http://127.0.0.1:${port}`, adminToken }).then(
        () => true,
        (e) => {
          console.error(`[dev-seed] try ${attempt} of 3: ${e.message}`);
          return false;
        },
      );
    }
  }
  // PAULP_DEV_CRON=0: no scheduled work (the browser tests drive each step themselves, so nothing moves under them).
  if (process.env.PAULP_DEV_CRON !== "0") {
    const { startDevCron } = await import("./dev-cron.mjs");
    startDevCron({ port, adminToken });
  }
} else {
  console.error("the gateway did not answer /health within 90 s");
}
