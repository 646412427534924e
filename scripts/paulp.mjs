#!/usr/bin/env node
// `pnpm paulp <command>`: a small operator CLI over the admin API.
//   PAULP_URL (default http://127.0.0.1:8787) and PAULP_TOKEN (default, for a local URL only: the local dev
//   token), or PAULP_ACCESS_JWT to act as a person through Cloudflare Access. A non-local URL must be https.
// Exit codes: 0 done, 1 refused or failed (including a verification that found a break, or an approved action
// that did not apply), 2 usage.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { parseArgs } from "node:util";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const base = (process.env.PAULP_URL ?? "http://127.0.0.1:8787").replace(/\/$/, "");

// Each command: [method, path or (args) => path, optional (args) => body, how many leading args the path takes].
const COMMANDS = {
  status: ["GET", "/admin/status"],
  whoami: ["GET", "/admin/whoami"],
  breaker: ["GET", "/admin/circuit-breaker"],
  halt: [
    "POST",
    "/admin/circuit-breaker/transition",
    (...reason) => ({ targetState: "HALT", reason: reason.join(" ") || "Emergency halt" }),
  ],
  // `pnpm paulp transition <STATE> [--expected-version N] <reason…>`: every transition but HALT names the
  // breaker version it acts on. Without --expected-version the CLI reads the breaker first, says what it read,
  // and acts on that version: a HALT landing in between is then refused (409), never overridden.
  transition: ["POST", "/admin/circuit-breaker/transition", breakerTransition],
  reconcile: ["POST", "/admin/reconcile"],
  "audit-status": ["GET", "/admin/audit/status"],
  // `pnpm paulp audit-verify [full|incremental]`
  "audit-verify": ["POST", "/admin/audit/verify", (mode = "incremental") => ({ mode })],
  "audit-export": ["GET", "/admin/audit/export"],
  limits: ["GET", "/admin/risk/limits"],
  exposure: ["GET", "/admin/risk/exposure"],
  ingestion: ["GET", "/admin/ingestion/status"],
  "ingest-now": ["POST", "/admin/ingestion/run"],
  approvals: ["GET", "/admin/approvals"],
  approvers: ["GET", "/admin/approvers"],
  approve: ["POST", (id) => `/admin/approvals/${encodeURIComponent(id)}/approve`],
  // `pnpm paulp reject <id> <reason…>`
  reject: [
    "POST",
    (id) => `/admin/approvals/${encodeURIComponent(id)}/reject`,
    (...reason) => ({ reason: reason.join(" ") }),
    1,
  ],
  strategies: ["GET", "/admin/strategies"],
  pairs: ["GET", "/admin/pairs"],
  orders: ["GET", "/admin/orders"],
  trace: ["GET", (id) => `/admin/orders/${encodeURIComponent(id)}/trace`],
  positions: ["GET", "/admin/positions"],
  policy: ["GET", "/admin/execution/policy"],
};

/** The body of a breaker transition, naming the version it acts on (read first when not given). */
async function breakerTransition(...argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { "expected-version": { type: "string" } },
    allowPositionals: true,
  });
  const [targetState, ...reason] = positionals;
  const body = { targetState, reason: reason.join(" ") };
  if (targetState === "HALT") return body;
  const given = values["expected-version"];
  if (given !== undefined) {
    if (!/^\d+$/.test(given)) usage(`--expected-version must be a whole number, not ${given}`);
    return { ...body, expectedVersion: Number(given) };
  }
  const res = await send("GET", "/admin/circuit-breaker");
  const current = await res.json().catch(() => null);
  if (!res.ok || typeof current?.version !== "number") {
    console.error(`could not read the breaker's version (HTTP ${res.status}): nothing sent`);
    console.log(JSON.stringify(current, null, 2));
    process.exit(1);
  }
  console.error(
    `breaker is ${current.state} v${current.version} since ${current.since} (${current.reason}); acting on v${current.version}`,
  );
  return { ...body, expectedVersion: current.version };
}

function usage(message) {
  console.error(message);
  process.exit(2);
}

const [name, ...args] = process.argv.slice(2);
const command = COMMANDS[name];
if (!command) {
  console.error(`usage: pnpm paulp <${Object.keys(COMMANDS).join("|")}> [args]`);
  process.exit(2);
}
const [method, route, makeBody, pathArgs = typeof route === "function" ? args.length : 0] = command;
const pathname = typeof route === "function" ? route(...args.slice(0, pathArgs)) : route;

const url = new URL(`${base}${pathname}`);
const local = url.hostname === "127.0.0.1" || url.hostname === "localhost" || url.hostname === "[::1]";
if (!local && url.protocol !== "https:") {
  console.error(`refusing to send credentials over ${url.protocol} to ${url.host}: use https`);
  process.exit(2);
}
const headers = { "content-type": "application/json" };
if (process.env.PAULP_ACCESS_JWT) headers["cf-access-jwt-assertion"] = process.env.PAULP_ACCESS_JWT;
else {
  // The local dev token is for the local mesh only; anywhere else the operator must say which token to use.
  const token =
    process.env.PAULP_TOKEN ||
    (local ? execFileSync("node", [path.join(root, "scripts", "dev-token.mjs")], { encoding: "utf8" }) : "");
  if (!token) {
    console.error(`set PAULP_TOKEN (or PAULP_ACCESS_JWT) for ${url.host}`);
    process.exit(2);
  }
  headers.authorization = `Bearer ${token.trim()}`;
}
/** One call to the admin API with the credentials above. */
function send(verb, route, payload) {
  return fetch(new URL(`${base}${route}`), {
    method: verb,
    headers,
    body: payload ? JSON.stringify(payload) : undefined,
  });
}
const body = await makeBody?.(...args.slice(pathArgs));
let res;
let text;
let parsed;
// A full verification of a long chain answers in steps (`complete: false`): call again until it is done, as
// long as each step gets further than the last (a step that does not is reported and ends the loop).
let reached = 0;
for (let steps = 1; ; steps++) {
  res = await send(method, pathname, body);
  text = await res.text();
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!(res.ok && parsed?.ok === true && parsed.complete === false)) break;
  if (!(parsed.toSeq > reached)) {
    console.error(
      `step ${steps} did not get past entry ${reached}: stopping (the verification is not complete)`,
    );
    console.log(JSON.stringify(parsed, null, 2));
    process.exit(1);
  }
  reached = parsed.toSeq;
  console.error(`verified entries ${parsed.fromSeq}..${parsed.toSeq} (step ${steps}); going on`);
}
if (parsed !== undefined) console.log(JSON.stringify(parsed, null, 2));
else process.stdout.write(text);
// A 200 can still report a failure: a verification that found a break. (An approval whose action did not apply
// answers a non-2xx status.)
const failed = parsed?.ok === false || (parsed?.applied && parsed.applied.ok === false);
process.exit(res.ok && !failed ? 0 : 1);
