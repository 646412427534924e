# One-off scaffold generator for the worker packages' config (kept for reference; configs are edited by hand after).
import json, os
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPAT = "2026-04-20"
W = {
  "audit": dict(desc="Audit chain: sequencer Durable Object, R2 mirror, D1 anchors, verification",
    dos=[("AUDIT_SEQUENCER","AuditSequencer")], d1=[("D1_ANCHOR","paulp-anchor","migrations")], r2=[("R2_AUDIT","paulp-audit")],
    services=[], secrets=[], crons=["0 * * * *"], vars={}),
  "governance": dict(desc="Two-person approval desk, strategies, LLM-assessed market pairs",
    dos=[("APPROVAL_DESK","ApprovalDesk")], d1=[("D1_GOVERNANCE","paulp-governance","migrations")], r2=[],
    services=["AUDIT"], secrets=["ANTHROPIC_API_KEY"], crons=["*/10 * * * *"], vars={"ANTHROPIC_MODEL":"claude-sonnet-5-5","APPROVAL_TTL_SECONDS":"86400","EXECUTE_WINDOW_SECONDS":"3600"}, sim=True),
  "risk": dict(desc="Risk Governor: fail-closed invariants, portfolio state, circuit breaker",
    dos=[("RISK_GOVERNOR","RiskGovernor"),("CIRCUIT_BREAKER","CircuitBreaker")], d1=[], r2=[],
    services=["AUDIT","GOVERNANCE"], secrets=[], crons=[], vars={}),
  "ingestion": dict(desc="Market data from Kalshi and Polymarket through evidence storage and the compliance gate",
    dos=[("MARK_REFRESHER","MarkRefresher")], d1=[("D1_MARKETS","paulp-markets","migrations")], r2=[("R2_EVIDENCE","paulp-evidence")],
    services=["AUDIT","RISK","GOVERNANCE","EXECUTION"], secrets=[], crons=["*/2 * * * *"], vars={}, sim=True),
  "execution": dict(desc="Orders on Kalshi and IBKR: order manager, paper/live policy, reconciliation, trading loop",
    dos=[("ORDER_MANAGER","OrderManager")], d1=[], r2=[],
    services=["AUDIT","RISK","INGESTION","GOVERNANCE"], secrets=["KALSHI_API_KEY","KALSHI_PRIVATE_KEY"],
    crons=["* * * * *","*/15 * * * *"], vars={"IBKR_GATEWAY_URL":"","IBKR_ACCOUNT_ID":""}, sim=True),
  "gateway": dict(desc="API gateway: admin auth (bearer token, Cloudflare Access), routing to the mesh",
    dos=[], d1=[], r2=[], services=["AUDIT","GOVERNANCE","RISK","INGESTION","EXECUTION"], secrets=["ADMIN_TOKEN"],
    crons=[], vars={"ACCESS_TEAM_DOMAIN":"","ACCESS_AUD":""}, sim=True),
}
SVC = {"AUDIT":"paulp-audit","GOVERNANCE":"paulp-governance","RISK":"paulp-risk","INGESTION":"paulp-ingestion","EXECUTION":"paulp-execution"}

def bindings(w, suffix, env):
    b = {}
    if w["vars"]:
        b["vars"] = dict(w["vars"])
    if w["secrets"]:
        b["secrets"] = {"required": w["secrets"]}
    if w["dos"]:
        b["durable_objects"] = {"bindings": [{"name": n, "class_name": c} for n, c in w["dos"]]}
    if w["d1"]:
        b["d1_databases"] = [{"binding": n, "database_name": db + suffix, "database_id": (f"local-{db}" if env=="dev" else f"REPLACE_WITH_{db.upper().replace('-','_')}{suffix.upper().replace('-','_')}_ID"), "migrations_dir": m} for n, db, m in w["d1"]]
    if w["r2"]:
        b["r2_buckets"] = [{"binding": n, "bucket_name": bk + suffix} for n, bk in w["r2"]]
    svcs = [{"binding": s, "service": SVC[s] + suffix} for s in w["services"]]
    if env == "dev" and w.get("sim"):
        svcs.append({"binding": "VENUE_SIM", "service": "paulp-venue-sim"})
    if svcs:
        b["services"] = svcs
    if w["crons"]:
        b["triggers"] = {"crons": w["crons"]}
    return b

for name, w in W.items():
    d = os.path.join(ROOT, "workers", name)
    os.makedirs(os.path.join(d, "src"), exist_ok=True)
    os.makedirs(os.path.join(d, "test"), exist_ok=True)
    cfg = {
      "$schema": "../../node_modules/wrangler/config-schema.json",
      "name": f"paulp-{name}",
      "main": "src/index.ts",
      "compatibility_date": COMPAT,
      "compatibility_flags": ["nodejs_compat", "service_binding_extra_handlers"],
      "workers_dev": False,
      "preview_urls": False,
      "observability": {"enabled": True},
    }
    cfg.update(bindings(w, "", "dev"))
    if w["dos"]:
        cfg["migrations"] = [{"tag": "v1", "new_sqlite_classes": [c for _, c in w["dos"]]}]
    cfg["env"] = {}
    for env, suffix in (("staging", "-staging"), ("production", "")):
        e = {"name": f"paulp-{name}{suffix}", "workers_dev": False, "preview_urls": False}
        e.update(bindings(w, suffix, env))
        cfg["env"][env] = e
    header = (f"// paulp-{name}: {w['desc']}.\n"
              "// Bindings are not inherited by named environments, so staging and production re-declare each one.\n"
              "// VENUE_SIM exists only at the top level (local dev and tests): a deployed worker can never reach the simulator.\n")
    open(os.path.join(d, "wrangler.jsonc"), "w").write(header + json.dumps(cfg, indent=2) + "\n")

print("ok")
