import { env, exports } from "cloudflare:workers";
import type {
  AlertsView,
  AuditStatus,
  BreakerStatus,
  EvaluationReport,
  MonitorRpc,
  OrderIntent,
  Principal,
  Result,
} from "@paulp/contracts";
import { describe, expect, it } from "vitest";

// Each alert raised and cleared by its real cause, through the real workers: the monitor reads what they expose
// after the test has made the cause happen in them (a breaker transition, denials, a stale anchor, a broken chain,
// failing venue calls, drift at the venue). Evaluations are driven here, as the one-minute cron would.

const monitor = () => (exports as unknown as { default: MonitorRpc }).default;
const operator: Principal = { method: "token", subject: "admin-token" };
const cron: Principal = { method: "system", subject: "cron:monitor" };
const KALSHI = "https://api.elections.kalshi.com";

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

async function evaluate(): Promise<EvaluationReport> {
  return value(await monitor().evaluate(cron));
}

async function alerts(): Promise<AlertsView> {
  return value(await monitor().alerts({ limit: 50 }));
}

async function activeSeverity(key: string): Promise<string | undefined> {
  return (await alerts()).active.find((a) => a.key === key)?.severity;
}

async function sim(path: string, method: string, body?: unknown): Promise<Response> {
  const res = await env.VENUE_SIM.fetch(`${KALSHI}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (res.status >= 400) throw new Error(`simulator ${path}: ${res.status} ${await res.text()}`);
  return res;
}

async function breaker(): Promise<BreakerStatus> {
  return value((await env.RISK.getBreaker()) as Result<BreakerStatus>);
}

let n = 0;
const intent = (market: string): OrderIntent => ({
  strategyId: "mon-test",
  venue: "kalshi",
  market,
  side: "buy",
  effect: "open",
  quantity: 1,
  limitPrice: "0.50",
  clientOrderId: `mon-${Date.now()}-${++n}`,
  evidenceHashes: ["a".repeat(64)],
});

describe("alerts raised and cleared by their real causes", () => {
  it("starts with nothing active", async () => {
    const report = await evaluate();
    expect(report.unavailable).toEqual([]);
    expect((await alerts()).active).toEqual([]);
  });

  it("risk denials by code: three denials in a minute warn; a quiet minute clears", async () => {
    for (let i = 0; i < 3; i++) {
      const d = value(
        (await env.RISK.evaluate(intent("MON-NO-SUCH-MARKET"), operator, "decide")) as Result<{
          approved: boolean;
          reasons: { code: string }[];
        }>,
      );
      expect(d.approved).toBe(false);
    }
    const code = value(
      (await env.RISK.recentDecisions({ limit: 1 })) as Result<{
        decisions: { reasons: { code: string }[] }[];
      }>,
    ).decisions[0]!.reasons[0]!.code;
    const report = await evaluate();
    expect(report.changes).toContainEqual({
      key: `risk_denials:${code}`,
      action: "raised",
      severity: "warning",
    });
    const view = await alerts();
    const row = view.recent.find((r) => r.key === `risk_denials:${code}` && r.action === "raised");
    expect(row?.auditSeq).toBeGreaterThan(0); // audited
    // The would-be email, kept locally (ALERT_DELIVERY local), to the configured desk address.
    const outbox = value(await monitor().outbox(1)).messages[0]!;
    expect(outbox).toMatchObject({ delivery: "local", to: ["desk@paulp.local"], from: "alerts@paulp.local" });
    expect(outbox.subject).toContain("WARNING raised");
    expect(outbox.text).toContain(`risk_denials:${code}`);

    const quiet = await evaluate();
    expect(quiet.changes).toContainEqual({
      key: `risk_denials:${code}`,
      action: "cleared",
      severity: "warning",
    });
    expect(await activeSeverity(`risk_denials:${code}`)).toBeUndefined();
  });

  it("market-data errors and the breaker's CAUTION: failing Kalshi reads raise both; recovery clears both", async () => {
    await sim("/__sim/faults", "POST", {
      host: "api.elections.kalshi.com",
      pathPrefix: "/trade-api/v2/markets",
      kind: "server_error",
    });
    // Ingestion tells the breaker from the second failed run in a row; three reports make CAUTION.
    for (let i = 0; i < 4; i++) await env.INGESTION.runNow({ venues: ["kalshi"], maxPages: 1 }, operator);
    expect((await breaker()).state).toBe("CAUTION");
    const raised = await evaluate();
    expect(raised.changes).toContainEqual({ key: "breaker_state", action: "raised", severity: "warning" });
    expect(raised.changes).toContainEqual({
      key: "venue_errors:market_data:kalshi",
      action: "raised",
      severity: "critical",
    });

    await sim("/__sim/faults", "DELETE");
    // A run whose venue calls all succeed clears it (a market we cannot represent is our count, not an API error).
    const [run] = value(
      (await env.INGESTION.runNow({ venues: ["kalshi"], maxPages: 1 }, operator)) as Result<
        { outcome: string }[]
      >,
    );
    expect(run?.outcome).toBe("ok");
    const b = await breaker();
    value(
      (await env.RISK.transitionBreaker(
        { targetState: "NORMAL", reason: "kalshi reads back", expectedVersion: b.version },
        operator,
      )) as Result<BreakerStatus>,
    );
    const cleared = await evaluate();
    expect(cleared.changes).toContainEqual({ key: "breaker_state", action: "cleared", severity: "warning" });
    expect(cleared.changes).toContainEqual({
      key: "venue_errors:market_data:kalshi",
      action: "cleared",
      severity: "critical",
    });
  });

  it("an anchor older than 90 minutes warns; a fresh anchor clears", async () => {
    value((await env.AUDIT.anchorNow(operator)) as Result<unknown>);
    const last = await env.TEST_D1_ANCHOR.prepare(
      "SELECT anchor_no, anchored_at FROM anchors ORDER BY anchor_no DESC LIMIT 1",
    ).first<{ anchor_no: number; anchored_at: string }>();
    // As if the hourly anchor had stopped two hours ago (anchors are append-only: the guard is lifted for this).
    await env.TEST_D1_ANCHOR.exec("DROP TRIGGER anchors_no_update");
    await env.TEST_D1_ANCHOR.prepare("UPDATE anchors SET anchored_at = ? WHERE anchor_no = ?")
      .bind(new Date(Date.now() - 2 * 3600_000).toISOString(), last!.anchor_no)
      .run();
    const raised = await evaluate();
    expect(raised.changes).toContainEqual({ key: "audit_anchor_age", action: "raised", severity: "warning" });
    await env.TEST_D1_ANCHOR.prepare("UPDATE anchors SET anchored_at = ? WHERE anchor_no = ?")
      .bind(last!.anchored_at, last!.anchor_no)
      .run();
    await env.TEST_D1_ANCHOR.exec(
      "CREATE TRIGGER anchors_no_update BEFORE UPDATE ON anchors BEGIN SELECT RAISE(ABORT, 'anchors are append-only'); END;",
    );
    value((await env.AUDIT.anchorNow(operator)) as Result<unknown>);
    const cleared = await evaluate();
    expect(cleared.changes).toContainEqual({
      key: "audit_anchor_age",
      action: "cleared",
      severity: "warning",
    });
  });

  it("a broken chain is critical until a full verification passes again", async () => {
    const status = value((await env.AUDIT.status()) as Result<AuditStatus>);
    const last = await env.TEST_D1_ANCHOR.prepare(
      "SELECT anchor_no, anchor_hash FROM anchors ORDER BY anchor_no DESC LIMIT 1",
    ).first<{ anchor_no: number; anchor_hash: string }>();
    // An anchor past the chain's head, as a sequencer restored to an older state would leave. D1 refuses a row
    // without a checkpoint note, so it carries one shaped like the audit worker's whose signature is not its key's.
    const toSeq = status.headSeq + 1_000;
    await env.TEST_D1_ANCHOR.prepare(
      "INSERT INTO anchors (anchor_no, to_seq, head_hash, prev_anchor_hash, anchored_at, r2_manifest_hash, anchor_hash, checkpoint) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
      .bind(
        last!.anchor_no + 1,
        toSeq,
        "e".repeat(64),
        last!.anchor_hash,
        new Date().toISOString(),
        "f".repeat(64),
        "d".repeat(64),
        `paulp-audit\n${toSeq}\n${btoa("d".repeat(32))}\n\n— paulp-audit AAAA\n`,
      )
      .run();
    const verdict = value(
      (await env.AUDIT.verify({ mode: "full", actor: operator })) as Result<{ ok: boolean }>,
    );
    expect(verdict.ok).toBe(false);
    const raised = await evaluate();
    expect(raised.changes).toContainEqual({ key: "audit_integrity", action: "raised", severity: "critical" });
    // Repaired (the bogus anchor removed), then a full verification passes.
    await env.TEST_D1_ANCHOR.exec("DROP TRIGGER anchors_no_delete");
    await env.TEST_D1_ANCHOR.prepare("DELETE FROM anchors WHERE anchor_no = ?")
      .bind(last!.anchor_no + 1)
      .run();
    await env.TEST_D1_ANCHOR.exec(
      "CREATE TRIGGER anchors_no_delete BEFORE DELETE ON anchors BEGIN SELECT RAISE(ABORT, 'anchors are append-only'); END;",
    );
    let again = value(
      (await env.AUDIT.verify({ mode: "full", actor: operator })) as Result<{
        ok: boolean;
        complete?: boolean;
      }>,
    );
    while (again.ok && again.complete === false)
      again = value(
        (await env.AUDIT.verify({ mode: "full", actor: operator })) as Result<{
          ok: boolean;
          complete?: boolean;
        }>,
      );
    expect(again.ok).toBe(true);
    const cleared = await evaluate();
    expect(cleared.changes).toContainEqual({
      key: "audit_integrity",
      action: "cleared",
      severity: "critical",
    });
  });

  it("trading errors per venue: failing Kalshi position reads warn; a minute without errors clears", async () => {
    await sim("/__sim/faults", "POST", {
      host: "api.elections.kalshi.com",
      pathPrefix: "/trade-api/v2/portfolio/positions",
      kind: "server_error",
    });
    const recon = value(
      (await env.EXECUTION.reconcile(operator)) as Result<{ venues: { venue: string; status: string }[] }>,
    );
    expect(recon.venues.find((v) => v.venue === "kalshi")?.status).toBe("unavailable");
    await sim("/__sim/faults", "DELETE");
    const raised = await evaluate();
    expect(raised.changes).toContainEqual({
      key: "venue_errors:trading:kalshi",
      action: "raised",
      severity: "warning",
    });
    const cleared = await evaluate();
    expect(cleared.changes).toContainEqual({
      key: "venue_errors:trading:kalshi",
      action: "cleared",
      severity: "warning",
    });
  });

  it("position drift at the venue is critical until reconciliation finds the positions agree", async () => {
    await sim("/__sim/kalshi/positions", "POST", { ticker: "MON-DRIFT", delta: 5 });
    const recon = value((await env.EXECUTION.reconcile(operator)) as Result<{ drifts: unknown[] }>);
    expect(recon.drifts).toHaveLength(1);
    const raised = await evaluate();
    expect(raised.changes).toContainEqual({
      key: "position_drift:kalshi:MON-DRIFT",
      action: "raised",
      severity: "critical",
    });
    // Drift halts the breaker (threshold 1): that is alerted too, as critical.
    expect(await activeSeverity("breaker_state")).toBe("critical");
    await sim("/__sim/kalshi/positions", "POST", { ticker: "MON-DRIFT", delta: -5 });
    value((await env.EXECUTION.reconcile(operator)) as Result<unknown>);
    const cleared = await evaluate();
    expect(cleared.changes).toContainEqual({
      key: "position_drift:kalshi:MON-DRIFT",
      action: "cleared",
      severity: "critical",
    });
  });
});

describe("recipients", () => {
  it("adding one is audited and every recipient is told; the last one cannot be removed", async () => {
    const before = value(await monitor().recipients());
    expect(before.recipients).toEqual(["desk@paulp.local"]);
    const added = value(
      await monitor().changeRecipients({ action: "add", email: "Second@Paulp.local" }, operator),
    );
    expect(added).toMatchObject({
      recipients: ["desk@paulp.local", "second@paulp.local"],
      version: 1,
      updatedBy: "token:admin-token",
    });
    const notice = value(await monitor().outbox(1)).messages[0]!;
    expect(notice.to).toEqual(["desk@paulp.local", "second@paulp.local"]);
    expect(notice.subject).toContain("recipient added: second@paulp.local");
    value(await monitor().changeRecipients({ action: "remove", email: "desk@paulp.local" }, operator));
    expect(
      await monitor().changeRecipients({ action: "remove", email: "second@paulp.local" }, operator),
    ).toMatchObject({ ok: false, error: { code: "conflict" } });
    expect(
      await monitor().changeRecipients({ action: "add", email: "not an address" }, operator),
    ).toMatchObject({ ok: false, error: { code: "validation_failed" } });
  });
});
