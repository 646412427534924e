#!/usr/bin/env node
// `pnpm paulp <command>`: a small operator CLI over the admin API.
//   PAULP_URL (default http://127.0.0.1:8787) and PAULP_TOKEN (default: the local dev token), or
//   PAULP_ACCESS_JWT to act as a person through Cloudflare Access.
import { execFileSync } from "node:child_process";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const base = (process.env.PAULP_URL ?? "http://127.0.0.1:8787").replace(/\/$/, "");

const COMMANDS = {
  status: ["GET", "/admin/status"],
  whoami: ["GET", "/admin/whoami"],
  breaker: ["GET", "/admin/circuit-breaker"],
  halt: [
    "POST",
    "/admin/circuit-breaker/transition",
    (reason = "Emergency halt") => ({ targetState: "HALT", reason }),
  ],
  transition: [
    "POST",
    "/admin/circuit-breaker/transition",
    (targetState, ...reason) => ({ targetState, reason: reason.join(" ") }),
  ],
  reconcile: ["POST", "/admin/reconcile"],
  "audit-status": ["GET", "/admin/audit/status"],
  "audit-verify": ["POST", "/admin/audit/verify"],
  "audit-export": ["GET", "/admin/audit/export"],
  limits: ["GET", "/admin/risk/limits"],
  exposure: ["GET", "/admin/risk/exposure"],
  ingestion: ["GET", "/admin/ingestion/status"],
  "ingest-now": ["POST", "/admin/ingestion/run"],
  approvals: ["GET", "/admin/approvals"],
  approve: ["POST", (id) => `/admin/approvals/${encodeURIComponent(id)}/approve`],
  reject: ["POST", (id) => `/admin/approvals/${encodeURIComponent(id)}/reject`],
  strategies: ["GET", "/admin/strategies"],
  pairs: ["GET", "/admin/pairs"],
  orders: ["GET", "/admin/orders"],
  trace: ["GET", (id) => `/admin/orders/${encodeURIComponent(id)}/trace`],
  positions: ["GET", "/admin/positions"],
  policy: ["GET", "/admin/execution/policy"],
};

const [name, ...args] = process.argv.slice(2);
const command = COMMANDS[name];
if (!command) {
  console.error(`usage: pnpm paulp <${Object.keys(COMMANDS).join("|")}> [args]`);
  process.exit(2);
}
const [method, route, makeBody] = command;
const pathname = typeof route === "function" ? route(...args) : route;
const body = typeof route === "function" ? undefined : makeBody?.(...args);

const headers = {};
if (process.env.PAULP_ACCESS_JWT) headers["cf-access-jwt-assertion"] = process.env.PAULP_ACCESS_JWT;
else {
  const token =
    process.env.PAULP_TOKEN ??
    execFileSync("node", [path.join(root, "scripts", "dev-token.mjs")], { encoding: "utf8" });
  headers.authorization = `Bearer ${token}`;
}
const res = await fetch(`${base}${pathname}`, {
  method,
  headers,
  body: body ? JSON.stringify(body) : undefined,
});
const text = await res.text();
try {
  console.log(JSON.stringify(JSON.parse(text), null, 2));
} catch {
  process.stdout.write(text);
}
process.exit(res.ok ? 0 : 1);
