/**
 * The operator console: a static page with no data of its own. It keeps the operator's token in the tab's
 * memory only (or relies on Cloudflare Access's cookie) and calls the same admin API as curl.
 * Strict CSP: no inline script from elsewhere, no framing, no outbound connections but this origin.
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'sha256-__SCRIPT_HASH__'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export const CONSOLE_SCRIPT = `
const $ = (id) => document.getElementById(id);
let token = "";
async function call(method, path, body) {
  const headers = token ? { authorization: "Bearer " + token } : {};
  const res = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined, credentials: "same-origin" });
  const text = await res.text();
  let parsed = null; let shown = text;
  try { parsed = JSON.parse(text); shown = JSON.stringify(parsed, null, 2); } catch {}
  $("out").textContent = method + " " + path + " → " + res.status + "\\n" + shown;
  return { ok: res.ok, status: res.status, body: parsed };
}
$("token").addEventListener("input", (e) => { token = e.target.value.trim(); });
for (const b of document.querySelectorAll("button[data-path]")) {
  b.addEventListener("click", () => call(b.dataset.method || "GET", b.dataset.path));
}
// Every transition but HALT names the version it acts on: the one shown to the operator when asked, so a HALT
// that lands while the operator reads is refused (409), never overridden.
$("move").addEventListener("click", async () => {
  const read = await call("GET", "/admin/circuit-breaker");
  const b = read.body;
  if (!read.ok || !b || typeof b.version !== "number") return;
  const target = prompt("The breaker is " + b.state + " v" + b.version + " (" + b.reason + "). Move it to CAUTION, NORMAL or RECOVERY:", b.state === "HALT" ? "RECOVERY" : "NORMAL");
  if (!target) return;
  const reason = prompt("Reason for " + b.state + " v" + b.version + " → " + target.trim().toUpperCase() + ":", "");
  if (!reason) return;
  call("POST", "/admin/circuit-breaker/transition", { targetState: target.trim().toUpperCase(), reason, expectedVersion: b.version });
});
$("halt").addEventListener("click", () => {
  const reason = prompt("Reason for the emergency halt:", "Emergency halt");
  if (reason) call("POST", "/admin/circuit-breaker/transition", { targetState: "HALT", reason });
});
`;

export const CONSOLE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Paul P console</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:2rem;max-width:1100px;color:#111}
h1{font-size:1.3rem} button{margin:.2rem;padding:.4rem .8rem;cursor:pointer}
#halt{background:#b00020;color:#fff;border:0;font-weight:600}
pre{background:#f4f4f4;padding:1rem;overflow:auto;max-height:60vh}
input{width:24rem;padding:.3rem}
</style></head><body>
<h1>Paul P — operator console</h1>
<p><label>Admin token (kept in this tab only; leave empty behind Cloudflare Access):
<input id="token" type="password" autocomplete="off"></label></p>
<p>
<button data-path="/admin/status">Mesh status</button>
<button data-path="/admin/circuit-breaker">Circuit breaker</button>
<button data-path="/admin/risk/exposure">Exposure</button>
<button data-path="/admin/risk/limits">Limits</button>
<button data-path="/admin/audit/status">Audit status</button>
<button data-method="POST" data-path="/admin/audit/verify">Verify audit chain</button>
<button data-path="/admin/ingestion/status">Ingestion</button>
<button data-path="/admin/approvals">Approvals</button>
<button data-path="/admin/strategies">Strategies</button>
<button data-path="/admin/pairs">Pairs</button>
<button data-path="/admin/orders">Orders</button>
<button data-path="/admin/positions">Positions</button>
<button data-method="POST" data-path="/admin/reconcile">Reconcile now</button>
<button id="move">Move breaker…</button>
<button id="halt">EMERGENCY HALT</button>
</p>
<pre id="out">Choose an action.</pre>
<script>${CONSOLE_SCRIPT}</script>
</body></html>`;
