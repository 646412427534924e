// Dev only: the first steps an operator team takes on a new deployment, done for you against `pnpm dev`
// so the paper strategy has something to trade within minutes. Every step goes through the admin API
// exactly as curl would, and people act through (local) Cloudflare Access sign-ins:
//   0. verify the audit chain (two-person actions are refused until its integrity is `ok`);
//   1. pull both venues once in full (the cron would take a few runs);
//   2. run the LLM equivalence assessment on the proposed Kalshi/Polymarket pairs;
//   3. a reviewer (reviewer@paulp.dev) approves the pairs graded identical or near_equivalent;
//   4. a portfolio manager (pm@paulp.dev) creates a cross-venue strategy and moves it to paper;
//   5. records a past window of the approved pairs' markets and books from the venue simulator on a simulated
//      clock (dev history: ingestion's own fetch path and compliance gate, `POST /admin/ingestion/history`) and
//      replays the strategy over it, so a go-live can cite a real report at once (README: the curl steps);
//   and, on a breaker never moved, the runbook's breaker drill (HALT, RECOVERY, then NORMAL approved by two
//   people) and an anchor, so `pnpm paulp preflight --local` finds the test the checklist asks for.
// Nothing here can reach production: the sign-in route exists only where the simulator is bound.
// Set PAULP_DEV_SEED=0 to start with an empty system instead.

/** Dev history: hours of the past recorded at start (PAULP_DEV_HISTORY_HOURS; 0 skips it), a tick per step. */
const HISTORY_HOURS = Number(process.env.PAULP_DEV_HISTORY_HOURS ?? 2);
const HISTORY_STEP_MS = Number(process.env.PAULP_DEV_HISTORY_STEP_MINUTES ?? 5) * 60_000;
/** Ticks per call (the route's bound is 30). */
const HISTORY_TICKS_PER_CALL = 12;

/**
 * A history call answered 503 (a worker of the mesh not ready, or busy: mostly nothing was read) or lost on the
 * network is tried again, at most this many times in all, waiting 2 s, 4 s, 8 s between (a bounded backoff).
 */
export const HISTORY_ATTEMPTS = 4;
const HISTORY_RETRY_MIN_MS = 2_000;
const HISTORY_RETRY_MAX_MS = 8_000;

/** Every breaker transition of the drill gives a reason starting so: how a retry knows the seed moved it. */
const DRILL_REASON_PREFIX = "dev seed:";
const SEED_STRATEGY_NAME = "Cross-venue relative value (dev)";

/**
 * The admin API as the seed calls it: `call(method, path, { headers, body })` answers the parsed body, or throws
 * an error carrying the answer's `status`, or `network: true` when there was no answer at all.
 */
export function adminCaller(base, adminToken) {
  const bearer = { authorization: `Bearer ${adminToken}` };
  return async (method, path, { headers = bearer, body } = {}) => {
    let res;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      // No answer at all (refused, reset): `network` lets a step that may be retried tell it from a refusal.
      throw Object.assign(new Error(`${method} ${path} → no answer: ${error.cause?.code ?? error.message}`), {
        network: true,
      });
    }
    const text = await res.text();
    let data;
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
    if (!res.ok)
      throw Object.assign(new Error(`${method} ${path} → ${res.status} ${text.slice(0, 300)}`), {
        status: res.status,
      });
    return data;
  };
}

export async function seedDev({ base, adminToken, log = console.log }) {
  const call = adminCaller(base, adminToken);
  const person = async (email) => {
    const { token } = await call("POST", "/dev/access-token", { headers: {}, body: { email } });
    return { "cf-access-jwt-assertion": token };
  };

  // Every start: a new local chain is `unknown` until verified, and the audit watch's first run is minutes away.
  const verified = await call("POST", "/admin/audit/verify", { body: { mode: "incremental" } });
  log(`[dev-seed] audit chain verified: ${verified.ok ? "intact" : `NOT intact (${verified.reason})`}`);

  // The drill runs on a breaker never moved, and resumes where a failed start left it (a step refused with
  // `audit_unavailable` on a busy machine): a breaker only the seed has moved is finished, never left halted.
  const breaker = await call("GET", "/admin/circuit-breaker");
  if (breaker.version === 0) await breakerDrill(call, person, log, breaker);
  else if (breaker.state !== "NORMAL") {
    const { transitions } = await call("GET", "/admin/circuit-breaker/history?limit=100");
    if (transitions.length > 0 && transitions.every((t) => t.reason.startsWith(DRILL_REASON_PREFIX)))
      await breakerDrill(call, person, log, breaker);
  }

  const existing = await call("GET", "/admin/strategies");
  const strategies = Array.isArray(existing) ? existing : (existing.strategies ?? []);
  const mine = strategies.find((s) => s.kind === "cross_venue_rv" && s.state !== "retired");
  if (mine?.state === "draft" && mine.name === SEED_STRATEGY_NAME) {
    // An earlier try created it and stopped before paper: finish that step.
    const pm = await person("pm@paulp.dev");
    await call("POST", `/admin/strategies/${encodeURIComponent(mine.id)}/paper`, { headers: pm });
    log(`[dev-seed] strategy ${mine.id} is in paper mode; the trading loop runs every minute`);
    return;
  }
  if (mine) {
    log("[dev-seed] a cross-venue strategy exists already: nothing to seed");
    return;
  }

  for (let i = 0; i < 4; i++) {
    const run = await call("POST", "/admin/ingestion/run", { body: { maxPages: 20 } });
    log(`[dev-seed] ingestion run ${i + 1}: ${JSON.stringify(run).slice(0, 200)}`);
    const pairs = await call("GET", "/admin/pairs");
    if ((Array.isArray(pairs) ? pairs : (pairs.pairs ?? [])).length > 0) break;
  }

  for (let i = 0; i < 5; i++) {
    const { assessed } = await call("POST", "/admin/pairs/assess-pending");
    if (!assessed) break;
    log(`[dev-seed] assessed ${assessed} pair(s)`);
  }

  const reviewer = await person("reviewer@paulp.dev");
  const listed = await call("GET", "/admin/pairs");
  let approved = 0;
  for (const pair of Array.isArray(listed) ? listed : (listed.pairs ?? [])) {
    if (pair.review !== "pending" || !["identical", "near_equivalent"].includes(pair.grade)) continue;
    await call("POST", `/admin/pairs/${encodeURIComponent(pair.pairId)}/review`, {
      headers: reviewer,
      body: { decision: "approve", note: "dev seed: simulator pair reviewed locally" },
    });
    approved += 1;
  }
  log(`[dev-seed] reviewer@paulp.dev approved ${approved} pair(s)`);

  const pm = await person("pm@paulp.dev");
  const created = await call("POST", "/admin/strategies", {
    headers: pm,
    body: {
      name: SEED_STRATEGY_NAME,
      kind: "cross_venue_rv",
      allocation: "10000.00",
      venues: ["kalshi", "polymarket"],
      params: {},
    },
  });
  const id = created.id ?? created.strategy?.id;
  await call("POST", `/admin/strategies/${encodeURIComponent(id)}/paper`, { headers: pm });
  log(`[dev-seed] strategy ${id} is in paper mode; the trading loop runs every minute`);
  // Once, on the seed's first pass: a failure (past each call's own retries of a 503, retryUnavailable) is logged,
  // the whole window never recorded again (a second recording would log the same minutes twice), and the loop's
  // live evidence still accrues.
  await historyAndReplay(call, id, log).catch((e) =>
    log(`[dev-seed] dev history not recorded: ${e.message}`),
  );
}

/**
 * Dev history, then a replay of the strategy over it: `HISTORY_HOURS` ending a minute ago, a tick every
 * `HISTORY_STEP_MS`, recorded call by call; the replay is read until it ends (its id is what a go-live cites).
 */
async function historyAndReplay(call, strategyId, log) {
  if (!(HISTORY_HOURS > 0) || !(HISTORY_STEP_MS > 0)) return;
  const to = Math.floor((Date.now() - 60_000) / 60_000) * 60_000;
  const from = to - Math.round(HISTORY_HOURS * 3_600_000);
  const started = Date.now();
  let fetches = 0;
  let ticks = 0;
  for (let at = from; at < to; at += HISTORY_TICKS_PER_CALL * HISTORY_STEP_MS) {
    const end = Math.min(to, at + HISTORY_TICKS_PER_CALL * HISTORY_STEP_MS);
    const body = {
      from: new Date(at).toISOString(),
      to: new Date(end).toISOString(),
      stepMs: HISTORY_STEP_MS,
    };
    const r = await retryUnavailable(() => call("POST", "/admin/ingestion/history", { body }), {
      what: `dev history ${body.from} … ${body.to}`,
      log,
    });
    fetches += r.fetches;
    ticks += r.ticks;
  }
  const window = { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
  log(
    `[dev-seed] dev history: ${ticks} ticks over ${window.from} … ${window.to}, ${fetches} venue answers (${Math.round((Date.now() - started) / 1000)} s)`,
  );
  const replay = await call("POST", "/admin/replays", { body: { strategyId, ...window } });
  let record = replay;
  for (let i = 0; i < 240 && record.status === "running"; i++) {
    await new Promise((r) => setTimeout(r, 1_000));
    record = (await call("GET", `/admin/replays/${encodeURIComponent(replay.id)}`)).replay;
  }
  const s = record.summary;
  log(
    record.status === "complete"
      ? `[dev-seed] replay ${replay.id} complete: ${record.sightings} sightings, ${s.decisions} decisions, ${s.orders} orders, P&L ${s.pnl}; a go-live cites it (README)`
      : `[dev-seed] replay ${replay.id} is ${record.status}: GET /admin/replays/${replay.id}`,
  );
}

/**
 * Run `step`, trying again after a 503 or no answer (up to `attempts` in all, the wait doubling from `minMs` to
 * `maxMs`), each retry logged; any other failure, or the last one, is thrown. For a history chunk, a retry is
 * worth the small risk it carries: a 503 after a dropped connection may follow a partial recording, so some of
 * the chunk's minutes may be logged twice (their bytes are stored once) rather than none recorded at all.
 */
export async function retryUnavailable(
  step,
  {
    what,
    log,
    attempts = HISTORY_ATTEMPTS,
    minMs = HISTORY_RETRY_MIN_MS,
    maxMs = HISTORY_RETRY_MAX_MS,
    wait = (ms) => new Promise((r) => setTimeout(r, ms)),
  },
) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      const retryable = error.status === 503 || error.network === true;
      if (!retryable || attempt >= attempts) throw error;
      const ms = Math.min(maxMs, minMs * 2 ** (attempt - 1));
      log(
        `[dev-seed] ${what}: try ${attempt} of ${attempts} failed (${error.message.slice(0, 200)}); again in ${ms / 1000} s`,
      );
      await wait(ms);
    }
  }
}

/**
 * The runbook's breaker drill, as operators run it on staging: the chain then records a tested breaker. Starts from
 * the breaker as it is (NORMAL before it, or HALT / RECOVERY where an earlier try stopped).
 */
async function breakerDrill(call, person, log, from) {
  let breaker = from;
  if (breaker.state === "NORMAL") {
    await call("POST", "/admin/circuit-breaker/transition", {
      body: { targetState: "HALT", reason: `${DRILL_REASON_PREFIX} breaker drill` },
    });
    breaker = await call("GET", "/admin/circuit-breaker");
  }
  if (breaker.state === "HALT") {
    await call("POST", "/admin/circuit-breaker/transition", {
      body: {
        targetState: "RECOVERY",
        reason: `${DRILL_REASON_PREFIX} drill over`,
        expectedVersion: breaker.version,
      },
    });
    breaker = await call("GET", "/admin/circuit-breaker");
  }
  const recovery = breaker;
  const payload = {
    targetState: "NORMAL",
    reason: `${DRILL_REASON_PREFIX} drill over`,
    expectedVersion: recovery.version,
  };
  const request = await call("POST", "/admin/approvals", {
    headers: await person("alice@paulp.dev"),
    body: { action: "breaker.recovery_to_normal", payload },
  });
  for (const approver of ["bob@paulp.dev", "carol@paulp.dev"]) {
    await call("POST", `/admin/approvals/${encodeURIComponent(request.requestId)}/approve`, {
      headers: await person(approver),
    });
  }
  await call("POST", "/admin/audit/anchor");
  log("[dev-seed] breaker drill: HALT → RECOVERY → NORMAL (approved by bob and carol); chain anchored");
}
