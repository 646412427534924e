// Local stand-in for Cron Triggers, which `wrangler dev` does not fire on its own. Each schedule below
// mirrors a `triggers.crons` entry and calls the admin route that runs the same domain code as that
// worker's scheduled handler, authenticated with the local ADMIN_TOKEN. Dev only.
export const DEV_SCHEDULES = [
  {
    name: "ingestion pull",
    cron: "*/2 * * * *",
    everyMs: 120_000,
    firstAfterMs: 3_000,
    method: "POST",
    path: "/admin/ingestion/run",
  },
  {
    // Ingestion's cron takes one step of the evidence index audit after each pull (docs/ingestion.md).
    name: "evidence index audit",
    cron: "*/2 * * * *",
    everyMs: 120_000,
    firstAfterMs: 60_000,
    method: "POST",
    path: "/admin/evidence/index-audit",
  },
  {
    name: "pair assessment",
    cron: "*/10 * * * *",
    everyMs: 600_000,
    firstAfterMs: 45_000,
    method: "POST",
    path: "/admin/pairs/assess-pending",
  },
  {
    name: "trading loop",
    cron: "* * * * *",
    everyMs: 60_000,
    firstAfterMs: 60_000,
    method: "POST",
    path: "/admin/execution/run",
  },
  {
    name: "reconciliation",
    cron: "*/15 * * * *",
    everyMs: 900_000,
    firstAfterMs: 120_000,
    method: "POST",
    path: "/admin/reconcile",
  },
  {
    name: "audit integrity watch",
    cron: "*/5 * * * *",
    everyMs: 300_000,
    firstAfterMs: 100_000,
    method: "POST",
    path: "/admin/risk/audit-watch",
  },
  {
    name: "alert evaluation",
    cron: "* * * * *",
    everyMs: 60_000,
    firstAfterMs: 20_000,
    method: "POST",
    path: "/admin/alerts/evaluate",
  },
  {
    name: "audit anchor",
    cron: "0 * * * *",
    everyMs: 3_600_000,
    firstAfterMs: 90_000,
    method: "POST",
    path: "/admin/audit/anchor",
  },
  {
    // The audit worker's daily full verification, every step to the head in one call (as its cron does).
    name: "audit full verification",
    cron: "30 4 * * *",
    everyMs: 86_400_000,
    firstAfterMs: 150_000,
    method: "POST",
    path: "/admin/audit/verify",
    body: { mode: "full", untilComplete: true },
  },
];

export function startDevCron({ port, adminToken, schedules = DEV_SCHEDULES, log = console.log }) {
  const timers = [];
  for (const s of schedules) {
    const run = async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}${s.path}`, {
          method: s.method,
          headers: { authorization: `Bearer ${adminToken}`, "x-request-id": `devcron-${Date.now()}` },
          ...(s.body === undefined ? {} : { body: JSON.stringify(s.body) }),
        });
        const text = await res.text();
        log(`[dev-cron] ${s.name} (${s.cron}): ${res.status} ${text.slice(0, 160)}`);
      } catch (error) {
        log(`[dev-cron] ${s.name}: ${error.message}`);
      }
    };
    timers.push(
      setTimeout(() => {
        run();
        timers.push(setInterval(run, s.everyMs));
      }, s.firstAfterMs),
    );
  }
  return () => {
    for (const t of timers) {
      clearTimeout(t);
      clearInterval(t);
    }
  };
}
