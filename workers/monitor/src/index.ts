import { WorkerEntrypoint } from "cloudflare:workers";
import {
  AdminAuditOutboxReport,
  AlertsQuery,
  type AlertsView,
  type EquitySeries,
  EquitySeriesQuery,
  type EvaluationReport,
  type HealthReport,
  type MonitorRpc,
  type OutboxMessage,
  ok,
  Principal,
  RecipientChange,
  type RecipientsView,
  type Result,
  systemPrincipal,
} from "@paulp/contracts";
import { rpc, runHealthChecks, serve } from "@paulp/kit";
import * as v from "valibot";
import type { Env } from "./env";

export { AlertDesk } from "./alert-desk";

const OutboxLimit = v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(200)), 50);

/**
 * The monitor: watches the specification's monitoring list (breaker, risk denials, audit-chain gaps, position
 * drift, venue error rates), raises and clears alerts, emails operators through Cloudflare Email, renders the
 * mesh's metrics. Thin: the AlertDesk Durable Object and the plain modules do the work.
 */
export class MonitorEntrypoint extends WorkerEntrypoint<Env> implements MonitorRpc {
  private desk() {
    return this.env.ALERT_DESK.getByName("desk");
  }

  async health(): Promise<HealthReport> {
    return runHealthChecks("monitor", {
      alert_desk: async () => this.desk().ping(),
      delivery: async () => {
        const problem = await this.desk().deliveryProblem();
        if (problem) throw new Error(problem);
        return this.env.ALERT_DELIVERY === "email" ? "email" : "local outbox";
      },
    });
  }

  async evaluate(actor: Principal): Promise<Result<EvaluationReport>> {
    return serve(
      { what: "evaluate" },
      [Principal],
      [actor],
      async (a) => this.desk().evaluate(a) as Promise<Result<EvaluationReport>>,
    );
  }

  async alerts(query: AlertsQuery): Promise<Result<AlertsView>> {
    return serve({ what: "alerts" }, [AlertsQuery], [query ?? {}], async (q) =>
      ok((await this.desk().alerts(q.limit ?? 50)) as AlertsView),
    );
  }

  async metrics(): Promise<Result<string>> {
    return rpc(async () => ok(await this.desk().metrics()), { what: "metrics" });
  }

  async outbox(limit?: number): Promise<Result<{ messages: OutboxMessage[] }>> {
    return serve({ what: "outbox" }, [OutboxLimit], [limit], async (l) =>
      ok({ messages: (await this.desk().outbox(l)) as OutboxMessage[] }),
    );
  }

  async recipients(): Promise<Result<RecipientsView>> {
    return rpc(async () => ok((await this.desk().getRecipients()) as RecipientsView), { what: "recipients" });
  }

  async changeRecipients(change: RecipientChange, actor: Principal): Promise<Result<RecipientsView>> {
    return serve(
      { what: "changeRecipients" },
      [RecipientChange, Principal],
      [change, actor],
      async (c, a) => this.desk().changeRecipients(c, a) as Promise<Result<RecipientsView>>,
    );
  }

  async reportAdminAuditOutbox(report: AdminAuditOutboxReport): Promise<Result<null>> {
    return serve({ what: "reportAdminAuditOutbox" }, [AdminAuditOutboxReport], [report], async (r) => {
      await this.desk().recordAdminAuditOutbox(r, Date.now());
      return ok(null);
    });
  }

  async equitySeries(query: EquitySeriesQuery): Promise<Result<EquitySeries>> {
    return serve({ what: "equitySeries" }, [EquitySeriesQuery], [query ?? {}], async (q) =>
      ok((await this.desk().equitySeries(q.minutes ?? 1_440)) as EquitySeries),
    );
  }

  /** "* * * * *": one evaluation a minute (its rates are "since the last evaluation"). */
  override async scheduled(_controller: ScheduledController): Promise<void> {
    const r = await this.evaluate(systemPrincipal("cron:monitor"));
    if (!r.ok) console.error("monitor evaluation failed", r.error.code, r.error.message);
  }
}

export default MonitorEntrypoint;
