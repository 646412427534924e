import { env, exports } from "cloudflare:workers";
import type { MonitorRpc, OrderIntent, Principal, Result } from "@paulp/contracts";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { renderFamilies } from "../src/metrics";

// The metrics are held to the Prometheus text format by an independent parser (parse-prometheus-text-format, a
// port of Prometheus' own text parser), read back from what the real mesh answers.

const monitor = () => (exports as unknown as { default: MonitorRpc }).default;
const operator: Principal = { method: "token", subject: "admin-token" };

interface Family {
  name: string;
  help: string;
  type: string;
  metrics: { labels?: Record<string, string>; value: string }[];
}

function parse(text: string): Map<string, Family> {
  const families = parsePrometheusTextFormat(text) as Family[];
  return new Map(families.map((f) => [f.name, f]));
}

describe("the Prometheus text format", () => {
  it("escapes label values and help text so they parse back exactly", () => {
    const text = renderFamilies([
      {
        name: "paulp_test_total",
        help: "a help \\ with a\nnewline",
        type: "counter",
        samples: [{ labels: { market: 'odd "market"\\name\nline' }, value: 3 }],
      },
    ]);
    const family = parse(text).get("paulp_test_total")!;
    expect(family.type).toBe("COUNTER");
    expect(family.help).toBe("a help \\ with a\nnewline");
    expect(family.metrics[0]).toEqual({ labels: { market: 'odd "market"\\name\nline' }, value: "3" });
  });

  it("the mesh's metrics parse and carry every named series", async () => {
    // Something to count: a denial, a HALT, an anchor, a market-data run.
    const intent: OrderIntent = {
      strategyId: "metrics",
      venue: "kalshi",
      market: "METRICS-NONE",
      side: "buy",
      effect: "open",
      quantity: 1,
      limitPrice: "0.50",
      clientOrderId: `metrics-${Date.now()}`,
      evidenceHashes: ["a".repeat(64)],
    };
    await env.RISK.evaluate(intent, operator, "decide");
    await env.RISK.transitionBreaker({ targetState: "HALT", reason: "metrics drill" }, operator);
    await env.AUDIT.anchorNow(operator);
    await env.INGESTION.runNow({ venues: ["kalshi"], maxPages: 1 }, operator);
    await env.INGESTION.auditEvidenceIndex(operator);
    await monitor().evaluate(operator);

    const r = (await monitor().metrics()) as Result<string>;
    if (!r.ok) throw new Error(r.error.message);
    const families = parse(r.value);
    for (const name of [
      "paulp_monitor_source_up",
      "paulp_breaker_state",
      "paulp_breaker_version",
      "paulp_breaker_transitions_total",
      "paulp_risk_decisions_total",
      "paulp_risk_denials_total",
      "paulp_venue_trading_429_total",
      "paulp_venue_market_data_429_recent",
      "paulp_ingestion_last_run_seconds",
      "paulp_ingestion_consecutive_failures",
      "paulp_audit_head_seq",
      "paulp_audit_anchor_age_seconds",
      "paulp_audit_unanchored_entries",
      "paulp_audit_mirror_lag_entries",
      "paulp_audit_integrity",
      "paulp_held_markets_without_mark",
      "paulp_alerts_active",
      "paulp_orders",
      "paulp_hedge_obligations_open",
      "paulp_hedge_unhedged_shares",
      "paulp_equity_dollars",
      "paulp_daily_pnl_dollars",
      "paulp_drawdown_ratio",
      "paulp_evidence_recovered_total",
      "paulp_evidence_unvouched",
      "paulp_evidence_index_walks_total",
      "paulp_evidence_index_step_age_seconds",
    ])
      expect(families.has(name), name).toBe(true);
    // The run's evidence, just written, is young to the index audit: one whole walk, nothing recovered or unvouched.
    expect(families.get("paulp_evidence_index_walks_total")!.metrics[0]!.value).toBe("1");
    expect(families.get("paulp_evidence_recovered_total")!.metrics[0]!.value).toBe("0");
    expect(families.get("paulp_evidence_unvouched")!.metrics.map((m) => [m.labels?.walk, m.value])).toEqual([
      ["current", "0"],
      ["last", "0"],
    ]);
    // Its step was taken in this test: seconds old, not unset.
    const stepAge = Number(families.get("paulp_evidence_index_step_age_seconds")!.metrics[0]!.value);
    expect(stepAge).toBeGreaterThanOrEqual(0);
    expect(stepAge).toBeLessThan(3_600);
    const state = families.get("paulp_breaker_state")!;
    expect(state.metrics.find((m) => m.labels?.state === "HALT")?.value).toBe("1");
    expect(state.metrics.find((m) => m.labels?.state === "NORMAL")?.value).toBe("0");
    expect(
      families.get("paulp_breaker_transitions_total")!.metrics.find((m) => m.labels?.to === "HALT")?.value,
    ).toBe("1");
    expect(Number(families.get("paulp_risk_denials_total")!.metrics[0]!.value)).toBeGreaterThanOrEqual(1);
    expect(
      families.get("paulp_alerts_active")!.metrics.find((m) => m.labels?.severity === "critical")?.value,
    ).toBe("1");
    expect(families.get("paulp_monitor_source_up")!.metrics.every((m) => m.value === "1")).toBe(true);
    // Real execution, nothing owed: the gauges are 0 and the oldest age is left out (none to age).
    expect(families.get("paulp_hedge_obligations_open")!.metrics[0]!.value).toBe("0");
    expect(families.has("paulp_hedge_obligation_oldest_age_seconds")).toBe(false);
    // The gateway's admin audit outbox never reported to this monitor: its gauges are absent, not a made-up 0.
    expect([...families.keys()].filter((n) => n.startsWith("paulp_admin_audit_outbox_"))).toEqual([]);
  });

  it("carries the admin audit outbox's last report: depth, dropped, the oldest age grown since, the report's time", async () => {
    const gauges = async () => {
      const r = (await monitor().metrics()) as Result<string>;
      if (!r.ok) throw new Error(r.error.message);
      const families = parse(r.value);
      const one = (name: string) => families.get(name)?.metrics[0]?.value;
      return {
        depth: one("paulp_admin_audit_outbox_depth"),
        oldest: one("paulp_admin_audit_outbox_oldest_age_seconds"),
        dropped: one("paulp_admin_audit_outbox_dropped"),
        reportedAt: Number(one("paulp_admin_audit_outbox_report_timestamp_seconds")),
      };
    };
    const report = async (depth: number, oldestAgeSeconds: number | null, dropped: number) => {
      const before = Math.floor(Date.now() / 1000);
      const r = await monitor().reportAdminAuditOutbox({ depth, oldestAgeSeconds, dropped, lastError: null });
      if (!r.ok) throw new Error(r.error.message);
      return { before, after: Math.ceil(Date.now() / 1000) };
    };

    const waiting = await report(3, 600, 2);
    const g = await gauges();
    const scraped = Math.ceil(Date.now() / 1000);
    expect([g.depth, g.dropped]).toEqual(["3", "2"]);
    expect(g.reportedAt).toBeGreaterThanOrEqual(waiting.before);
    expect(g.reportedAt).toBeLessThanOrEqual(waiting.after);
    // Reported 600 s old; it has aged since the report (by less than the time since the report was sent).
    expect(Number(g.oldest)).toBeGreaterThanOrEqual(600);
    expect(Number(g.oldest)).toBeLessThanOrEqual(600 + (scraped - waiting.before));

    // Drained: the outbox reports once, empty; nothing waits, so no oldest age.
    await report(0, null, 0);
    expect(await gauges()).toMatchObject({ depth: "0", oldest: undefined, dropped: "0" });

    // A malformed report is refused and leaves the last one standing.
    const bad = await monitor().reportAdminAuditOutbox({ depth: -1 } as never);
    expect(bad).toMatchObject({ ok: false, error: { code: "validation_failed" } });
    expect(await gauges()).toMatchObject({ depth: "0", dropped: "0" });
  });
});
