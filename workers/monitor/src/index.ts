import { WorkerEntrypoint } from "cloudflare:workers";
import {
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
import { parseArgs, parseInput, rpc, runHealthChecks } from "@paulp/kit";
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
    const a = parseInput(Principal, actor);
    if (!a.ok) return a;
    return rpc(async () => this.desk().evaluate(a.value) as Promise<Result<EvaluationReport>>, {
      what: "evaluate",
    });
  }

  async alerts(query: AlertsQuery): Promise<Result<AlertsView>> {
    const q = parseInput(AlertsQuery, query ?? {});
    if (!q.ok) return q;
    return rpc(async () => ok((await this.desk().alerts(q.value.limit ?? 50)) as AlertsView), {
      what: "alerts",
    });
  }

  async metrics(): Promise<Result<string>> {
    return rpc(async () => ok(await this.desk().metrics()), { what: "metrics" });
  }

  async outbox(limit?: number): Promise<Result<{ messages: OutboxMessage[] }>> {
    const l = parseInput(OutboxLimit, limit);
    if (!l.ok) return l;
    return rpc(async () => ok({ messages: (await this.desk().outbox(l.value)) as OutboxMessage[] }), {
      what: "outbox",
    });
  }

  async recipients(): Promise<Result<RecipientsView>> {
    return rpc(async () => ok((await this.desk().getRecipients()) as RecipientsView), { what: "recipients" });
  }

  async changeRecipients(change: RecipientChange, actor: Principal): Promise<Result<RecipientsView>> {
    const input = parseArgs([RecipientChange, Principal], [change, actor]);
    if (!input.ok) return input;
    const [c, a] = input.value;
    return rpc(async () => this.desk().changeRecipients(c, a) as Promise<Result<RecipientsView>>, {
      what: "changeRecipients",
    });
  }

  async equitySeries(query: EquitySeriesQuery): Promise<Result<EquitySeries>> {
    const q = parseInput(EquitySeriesQuery, query ?? {});
    if (!q.ok) return q;
    return rpc(async () => ok((await this.desk().equitySeries(q.value.minutes ?? 1_440)) as EquitySeries), {
      what: "equitySeries",
    });
  }

  /** "* * * * *": one evaluation a minute (its rates are "since the last evaluation"). */
  override async scheduled(_controller: ScheduledController): Promise<void> {
    const r = await this.evaluate(systemPrincipal("cron:monitor"));
    if (!r.ok) console.error("monitor evaluation failed", r.error.code, r.error.message);
  }
}

export default MonitorEntrypoint;
