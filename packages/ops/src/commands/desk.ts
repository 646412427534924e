import { failure } from "../client";
import { tableOf } from "../table";
import { type Cli, command } from "./context";

/** The desk at a glance: health, whoami, the API description, positions, exposure, reconcile, the loop. */
export function registerDesk({ program, io, exit, globals, api, call }: Cli): void {
  command(program, "status", "every worker's health and the gateway's own configuration").action(async () => {
    const answer = await (await api()).call("GET", "/admin/status");
    const body = answer.json as {
      status?: string;
      services?: Record<string, { ok: boolean; latencyMs: number; error?: string }>;
    };
    if (!body?.services) throw failure("GET /admin/status", answer);
    if (globals().json) io.out(JSON.stringify(body, null, 2));
    else {
      io.out(`status: ${body.status}`);
      io.out(
        tableOf(
          Object.entries(body.services).map(([service, s]) => ({
            service,
            ok: s.ok ? "ok" : "FAILING",
            latencyMs: s.latencyMs,
            error: s.error ?? "",
          })),
        ),
      );
    }
    if (!answer.ok) exit.code = 1;
  });
  command(program, "whoami", "the principal your credentials authenticate as").action(() =>
    call("GET", "/admin/whoami"),
  );
  command(program, "openapi", "the admin API's OpenAPI 3.1 description (JSON)").action(async () => {
    io.out(JSON.stringify(await (await api()).must("GET", "/admin/openapi.json"), null, 2));
  });
  command(program, "positions", "positions from execution's own fills").action(() =>
    call("GET", "/admin/positions"),
  );
  command(program, "exposure", "each risk limit's use in %").action(() =>
    call("GET", "/admin/risk/exposure"),
  );
  command(program, "reconcile", "compare positions with each venue's now (drift trips the breaker)").action(
    () => call("POST", "/admin/reconcile"),
  );
  command(program, "run-loop", "run the trading loop now (what the per-minute cron runs)").action(() =>
    call("POST", "/admin/execution/run"),
  );
}
