import { failure } from "../client";
import { type Cli, command } from "./context";

/** Alerts and the Prometheus metrics, as the monitor serves them through the gateway. */
export function registerMonitor({ program, io, api, call }: Cli): void {
  command(program, "alerts", "active and recent alerts (GET /admin/alerts)").action(() =>
    call("GET", "/admin/alerts"),
  );
  command(program, "metrics", "the Prometheus exposition (GET /admin/metrics)").action(async () => {
    const answer = await (await api()).call("GET", "/admin/metrics");
    if (!answer.ok) throw failure("GET /admin/metrics", answer);
    io.out(answer.text.replace(/\n$/, ""));
  });
}
