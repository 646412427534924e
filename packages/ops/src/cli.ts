import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { ApprovalAction, ApprovalStatus, OrderState } from "@paulp/contracts";
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { AdminClient, CliError, failure } from "./client";
import type { DeployedWorker, Target } from "./preflight/config";
import { type CheckLine, preflight } from "./preflight/run";
import { render, tableOf } from "./table";

/** What the CLI touches of the world: injected so tests run it in-process. */
export interface Io {
  argv: string[];
  env: Record<string, string | undefined>;
  out(text: string): void;
  err(text: string): void;
  fetch: typeof fetch;
  /** The repository root (dev token, configs, docs). */
  root: string;
  /** `wrangler secret list` for one worker and environment: the secret names. */
  listSecrets?(worker: DeployedWorker, target: Exclude<Target, "local">): Promise<string[]>;
}

interface Globals {
  url: string;
  json?: boolean;
  as?: string;
}

const int = (name: string) => (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number`);
  return Number(value);
};

/** JSON from an argument: inline, `@file`, or `-` for stdin. */
function jsonArg(value: string): unknown {
  const text =
    value === "-"
      ? readFileSync(0, "utf8")
      : value.startsWith("@")
        ? readFileSync(value.slice(1), "utf8")
        : value;
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidArgumentError("must be JSON (inline, @file or - for stdin)");
  }
}

/** Build the program. Every command's action runs through `act`, which prints and sets the exit code. */
export function buildProgram(io: Io, exit: { code: number }): Command {
  const port = io.env.PORT ?? "8787";
  const program = new Command("paulp")
    .description(
      "Operate Paul P over its admin API.\n" +
        "Credentials: PAULP_TOKEN (the ADMIN_TOKEN) or PAULP_ACCESS_JWT (a person, through Cloudflare Access);\n" +
        "against a local mesh the dev token is used and --as <email> signs in as a person.\n" +
        "Exit status: 0 done, 1 refused or failed, 2 usage.",
    )
    .option("--url <url>", "the gateway (env: PAULP_URL)", io.env.PAULP_URL ?? `http://127.0.0.1:${port}`)
    .option("--json", "print the answer as JSON instead of a table")
    .option("--as <email>", "act as this person (local mesh only: its Access double signs you in)")
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, "")),
      writeErr: (s) => io.err(s.replace(/\n$/, "")),
      outputError: (s, write) => write(s.replace(/\n$/, "")),
    });

  const globals = () => program.opts<Globals>();
  let client: AdminClient | undefined;
  const api = async () => {
    if (client) return client;
    client = new AdminClient({
      base: globals().url,
      env: io.env,
      fetch: io.fetch,
      devToken: () => devToken(io.root),
    });
    if (globals().as) await client.signInLocally(globals().as!);
    return client;
  };
  const print = (value: unknown, columns?: string[]) => {
    if (globals().json) io.out(JSON.stringify(value, null, 2));
    else io.out(render(value, columns));
  };
  /** Call a route and print its answer; a refusal is one line and exit 1. */
  const call = async (method: string, route: string, body?: unknown, columns?: string[]): Promise<void> => {
    print(await (await api()).must(method, route, body), columns);
  };
  const id = (s: string) => encodeURIComponent(s);

  /** A command: `name` with its description; `run` gets the positional arguments and options. */
  const command = (parent: Command, spec: string, description: string) =>
    parent.command(spec).description(description);

  // --- the desk at a glance ---------------------------------------------------------------------------
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

  // --- the circuit breaker ----------------------------------------------------------------------------
  command(program, "breaker", "the circuit breaker: state, version, counts").action(() =>
    call("GET", "/admin/circuit-breaker"),
  );
  command(program, "halt", "HALT trading now (always allowed; the specification's emergency procedure)")
    .argument("[reason...]", "why", ["Emergency", "halt"])
    .action((reason: string[]) =>
      call("POST", "/admin/circuit-breaker/transition", { targetState: "HALT", reason: reason.join(" ") }),
    );
  command(program, "transition", "move the breaker, naming the version you act on (read first unless given)")
    .argument("<state>", "NORMAL, CAUTION, HALT or RECOVERY")
    .argument("<reason...>", "why")
    .option("--expected-version <n>", "the breaker version you decided on", int("--expected-version"))
    .action(async (state: string, reason: string[], opts: { expectedVersion?: number }) => {
      const targetState = state.toUpperCase();
      if (!["NORMAL", "CAUTION", "HALT", "RECOVERY"].includes(targetState))
        throw new CliError(`state must be NORMAL, CAUTION, HALT or RECOVERY, not ${state}`, 2);
      const body: Record<string, unknown> = { targetState, reason: reason.join(" ") };
      if (targetState !== "HALT") {
        let version = opts.expectedVersion;
        if (version === undefined) {
          const b = (await (await api()).must("GET", "/admin/circuit-breaker")) as {
            state: string;
            version: number;
            since: string;
            reason: string;
          };
          io.err(
            `breaker is ${b.state} v${b.version} since ${b.since} (${b.reason}); acting on v${b.version}`,
          );
          version = b.version;
        }
        body.expectedVersion = version;
      }
      await call("POST", "/admin/circuit-breaker/transition", body);
    });

  // --- the audit chain ----------------------------------------------------------------------------------
  const audit = command(program, "audit", "the audit chain: status, verify, export, anchor");
  command(audit, "status", "head, last anchor and its age, mirror lag, integrity").action(() =>
    call("GET", "/admin/audit/status"),
  );
  command(audit, "verify", "verify the chain (exit 1 when broken); --full checks every entry, in steps")
    .option("--full", "verify from genesis (calls again until complete)")
    .action(async (opts: { full?: boolean }) => {
      const c = await api();
      let reached = -1;
      for (let step = 1; ; step++) {
        const v = (await c.must("POST", "/admin/audit/verify", {
          mode: opts.full ? "full" : "incremental",
        })) as {
          ok: boolean;
          complete?: boolean;
          fromSeq?: number;
          toSeq?: number;
        };
        if (v.ok && v.complete === false) {
          if (!(typeof v.toSeq === "number" && v.toSeq > reached))
            throw new CliError(
              `step ${step} did not get past entry ${reached}: the verification is not complete`,
            );
          reached = v.toSeq;
          io.err(`verified entries ${v.fromSeq}..${v.toSeq} (step ${step}); going on`);
          continue;
        }
        print(v);
        if (!v.ok) exit.code = 1;
        return;
      }
    });
  command(audit, "export", "the NDJSON export, for `pnpm audit:verify`")
    .option("-o, --out <file>", "write to a file instead of stdout")
    .action(async (opts: { out?: string }) => {
      const answer = await (await api()).call("GET", "/admin/audit/export");
      if (!answer.ok) throw failure("GET /admin/audit/export", answer);
      if (opts.out) {
        writeFileSync(opts.out, answer.text);
        io.err(`wrote ${answer.text.split("\n").filter(Boolean).length} lines to ${opts.out}`);
      } else io.out(answer.text.replace(/\n$/, ""));
    });
  command(
    audit,
    "receipts",
    "does the chain still hold these receipts? (exit 1 if not: a break, the breaker halts)",
  )
    .argument("<seq:hash...>", "receipts kept by a worker, e.g. 42:<the entry's 64 hex digits>")
    .action(async (given: string[]) => {
      const receipts = given.map((r) => {
        const m = /^(\d+):([0-9a-f]{64})$/.exec(r);
        if (!m) throw new CliError(`receipt ${r} is not <seq>:<64 lowercase hex digits>`, 2);
        return { seq: Number(m[1]), hash: m[2] };
      });
      const v = (await (await api()).must("POST", "/admin/audit/receipts/check", { receipts })) as {
        ok: boolean;
      };
      print(v);
      if (!v.ok) exit.code = 1;
    });
  command(audit, "watch", "verify now and feed the breaker (what risk's 5-minute cron runs)").action(() =>
    call("POST", "/admin/risk/audit-watch"),
  );
  command(program, "anchor", "anchor the audit chain's head now").action(() =>
    call("POST", "/admin/audit/anchor"),
  );

  // --- risk: limits, capital, a dry run -----------------------------------------------------------------
  const limits = command(program, "limits", "the risk limits");
  command(limits, "show", "the limits and their version").action(() => call("GET", "/admin/risk/limits"));
  command(limits, "set", "change some limits (lowering applies at once; raising needs two people)")
    .argument("<name=value...>", "e.g. maxPositionPct=4 maxOrderQuantity=500 (a JSON value for objects)")
    .action(async (pairs: string[]) => {
      const current = (await (await api()).must("GET", "/admin/risk/limits")) as {
        limits?: Record<string, unknown>;
      } & Record<string, unknown>;
      const base = { ...(current.limits ?? current) };
      delete base.version;
      for (const pair of pairs) {
        const eq = pair.indexOf("=");
        if (eq < 1) throw new CliError(`expected name=value, not ${pair}`, 2);
        const name = pair.slice(0, eq);
        const raw = pair.slice(eq + 1);
        if (!(name in base)) throw new CliError(`no limit named ${name} (see: pnpm paulp limits show)`, 2);
        base[name] =
          typeof base[name] === "number"
            ? Number(raw)
            : typeof base[name] === "string"
              ? raw
              : JSON.parse(raw);
      }
      await call("PUT", "/admin/risk/limits", base);
    });
  command(limits, "replace", "replace every limit from JSON")
    .argument("<json>", "the RiskLimits object (inline, @file or -)", jsonArg)
    .action((limitsJson: unknown) => call("PUT", "/admin/risk/limits", limitsJson));
  const capital = command(program, "capital", "the capital base the % limits apply to");
  command(capital, "show", "equity, day-start equity, high-water mark (from the exposure view)").action(
    async () => {
      const e = (await (await api()).must("GET", "/admin/risk/exposure")) as Record<string, unknown>;
      print(Object.fromEntries(["equity", "dayStartEquity", "highWaterMark"].map((k) => [k, e[k] ?? null])));
    },
  );
  command(capital, "set", "set the capital base (lowering at once; raising needs two people)")
    .argument("<equity>", 'dollars, e.g. "250000.00"')
    .action((equity: string) => call("PUT", "/admin/risk/capital", { equity }));
  command(program, "evaluate", "try an order intent against risk without acting (never consumable)")
    .argument("<intent>", "the OrderIntent (inline JSON, @file or -)", jsonArg)
    .action((intent: unknown) => call("POST", "/admin/risk/evaluate", intent));

  // --- execution policy -----------------------------------------------------------------------------------
  const policy = command(program, "policy", "the execution policy (paper or live)");
  command(policy, "show", "the global mode and each strategy's").action(() =>
    call("GET", "/admin/execution/policy"),
  );
  for (const mode of ["paper", "live"] as const) {
    command(
      policy,
      mode,
      mode === "paper" ? "switch to paper (at once)" : "switch to live (needs two people)",
    )
      .option("--strategy <id>", "only this strategy (default: global)")
      .action((opts: { strategy?: string }) =>
        call("PUT", "/admin/execution/policy", {
          scope: opts.strategy ? `strategy:${opts.strategy}` : "global",
          mode,
        }),
      );
  }

  // --- two-person approvals -----------------------------------------------------------------------------
  const approvals = command(
    program,
    "approvals",
    "the two-person desk: list, request, approve, reject, execute",
  );
  const APPROVAL_COLUMNS = ["requestId", "action", "status", "requestedBy", "approvals", "createdAt"];
  command(approvals, "list", "the desk's requests")
    .addOption(new Option("--status <status>", "only this state").choices(ApprovalStatus.options))
    .action((opts: { status?: string }) =>
      call(
        "GET",
        `/admin/approvals${opts.status ? `?status=${opts.status}` : ""}`,
        undefined,
        APPROVAL_COLUMNS,
      ),
    );
  command(approvals, "show", "one request")
    .argument("<id>")
    .action((rid: string) => call("GET", `/admin/approvals/${id(rid)}`));
  command(approvals, "request", "request a two-person action (a person: PAULP_ACCESS_JWT or --as)")
    .addArgument(new Argument("<action>", "what to approve").choices(ApprovalAction.options))
    .argument(
      "<payload>",
      "its exact payload (inline JSON, @file or -), as the 403 approval_required named it",
      jsonArg,
    )
    .action((action: string, payload: unknown) => call("POST", "/admin/approvals", { action, payload }));
  command(approvals, "approve", "approve as a person; at the threshold the gateway applies it")
    .argument("<id>")
    .action(async (rid: string) => {
      const v = (await (await api()).must("POST", `/admin/approvals/${id(rid)}/approve`)) as {
        applied?: { ok: boolean } | null;
      };
      print(v);
      if (v?.applied && v.applied.ok === false) exit.code = 1;
    });
  command(approvals, "reject", "reject as a person (final)")
    .argument("<id>")
    .argument("<reason...>", "why")
    .action((rid: string, reason: string[]) =>
      call("POST", `/admin/approvals/${id(rid)}/reject`, { reason: reason.join(" ") }),
    );
  command(approvals, "execute", "re-run an approved request's apply step (within the execute window)")
    .argument("<id>")
    .action((rid: string) => call("POST", `/admin/approvals/${id(rid)}/execute`));
  command(program, "approvers", "who may approve each action").action(() => call("GET", "/admin/approvers"));

  // --- strategies -----------------------------------------------------------------------------------------
  const strategies = command(
    program,
    "strategies",
    "strategies: list, create, paper, pause, retire, go-live",
  );
  command(strategies, "list", "every strategy").action(() =>
    call("GET", "/admin/strategies", undefined, ["id", "name", "kind", "state", "allocation", "venues"]),
  );
  command(strategies, "create", "create a strategy (a draft)")
    .requiredOption("--name <name>", "a display name")
    .requiredOption("--kind <kind>", "the strategy kind, e.g. cross_venue_rv")
    .requiredOption("--allocation <dollars>", 'e.g. "10000.00"')
    .requiredOption("--venues <venues...>", "kalshi, polymarket, ibkr")
    .option("--params <json>", "parameters (JSON)", jsonArg)
    .action((o: { name: string; kind: string; allocation: string; venues: string[]; params?: unknown }) =>
      call("POST", "/admin/strategies", {
        name: o.name,
        kind: o.kind,
        allocation: o.allocation,
        venues: o.venues,
        ...(o.params === undefined ? {} : { params: o.params }),
      }),
    );
  for (const [verb, what] of [
    ["paper", "move to paper trading"],
    ["pause", "pause"],
    ["retire", "retire (final)"],
    ["go-live", "request the two-person go-live (a person)"],
  ] as const) {
    command(strategies, verb, what)
      .argument("<id>")
      .action((sid: string) => call("POST", `/admin/strategies/${id(sid)}/${verb}`));
  }

  // --- market pairs ---------------------------------------------------------------------------------------
  const pairs = command(program, "pairs", "cross-venue market pairs: list, assess, review");
  command(pairs, "list", "candidates, grades, reviews")
    .addOption(
      new Option("--review <state>", "only this review state").choices(["pending", "approved", "rejected"]),
    )
    .action((o: { review?: string }) => call("GET", `/admin/pairs${o.review ? `?review=${o.review}` : ""}`));
  command(pairs, "assess", "run the LLM equivalence assessment on one pair")
    .argument("<id>")
    .action((pid: string) => call("POST", `/admin/pairs/${id(pid)}/assess`));
  command(pairs, "assess-pending", "assess every pending pair").action(() =>
    call("POST", "/admin/pairs/assess-pending"),
  );
  command(pairs, "review", "approve or reject a pair (a person)")
    .argument("<id>")
    .addArgument(new Argument("<decision>", "approve or reject").choices(["approve", "reject"]))
    .option("--note <text>", "why")
    .action((pid: string, decision: string, o: { note?: string }) =>
      call("POST", `/admin/pairs/${id(pid)}/review`, { decision, ...(o.note ? { note: o.note } : {}) }),
    );

  // --- orders -----------------------------------------------------------------------------------------------
  const orders = command(program, "orders", "orders: list, show, trace, place, close, cancel");
  const ORDER_COLUMNS = [
    "clientOrderId",
    "state",
    "intent.venue",
    "intent.market",
    "intent.side",
    "intent.effect",
    "intent.quantity",
    "intent.limitPrice",
    "updatedAt",
  ];
  command(orders, "list", "orders, newest first")
    .addOption(new Option("--state <state>", "only this state").choices(OrderState.options))
    .option("--strategy <id>", "only this strategy's")
    .option("--limit <n>", "at most this many (1–500)", int("--limit"))
    .action((o: { state?: string; strategy?: string; limit?: number }) => {
      const q = new URLSearchParams();
      if (o.state) q.set("state", o.state);
      if (o.strategy) q.set("strategyId", o.strategy);
      if (o.limit !== undefined) q.set("limit", String(o.limit));
      const qs = q.toString();
      return call("GET", `/admin/orders${qs ? `?${qs}` : ""}`, undefined, ORDER_COLUMNS);
    });
  command(orders, "show", "one order and its state history")
    .argument("<id>", "client order id")
    .action((oid: string) => call("GET", `/admin/orders/${id(oid)}`));
  command(orders, "trace", "order → risk decision → evidence bytes → pair approval")
    .argument("<id>", "client order id")
    .action((oid: string) => call("GET", `/admin/orders/${id(oid)}/trace`));
  command(orders, "cancel", "cancel an order")
    .argument("<id>", "client order id")
    .action((oid: string) => call("POST", `/admin/orders/${id(oid)}/cancel`));
  /** The price, evidence and ids every manual order carries, from the options `orderOptions` adds. */
  const priced = (o: Record<string, string & string[]>) => ({
    limitPrice: o.price,
    evidenceHashes: o.evidence,
    ...(o.farSide ? { farSidePrice: o.farSide } : {}),
    ...(o.clientOrderId ? { clientOrderId: o.clientOrderId } : {}),
  });
  const orderOptions = (c: Command) =>
    c
      .requiredOption("--strategy <id>", "the strategy the order is for")
      .requiredOption("--price <price>", 'limit price, e.g. "0.5600"')
      .requiredOption("--evidence <sha256...>", "evidence hashes the price comes from")
      .option("--far-side <price>", "the best price on the other side of the book")
      .option("--client-order-id <id>", "idempotency key (default: derived from the request)");
  orderOptions(
    command(orders, "place", "place a manual order: risk decides (422 with reasons when denied)")
      .requiredOption("--venue <venue>", "kalshi, polymarket or ibkr")
      .requiredOption("--market <market>", "the venue's market id")
      .addOption(new Option("--side <side>", "buy or sell").choices(["buy", "sell"]).makeOptionMandatory())
      .addOption(
        new Option("--effect <effect>", "on the position")
          .choices(["open", "increase", "reduce", "close"])
          .makeOptionMandatory(),
      )
      .requiredOption("--quantity <n>", "contracts or shares", int("--quantity")),
  ).action((o: Record<string, string & number & string[]>) =>
    call("POST", "/admin/orders", {
      strategyId: o.strategy,
      venue: o.venue,
      market: o.market,
      side: o.side,
      effect: o.effect,
      quantity: o.quantity,
      ...priced(o),
    }),
  );
  orderOptions(
    command(orders, "close", "close a whole position: the opposite side for its full size, effect close")
      .argument("<venue>", "kalshi, polymarket or ibkr")
      .argument("<market>", "the venue's market id"),
  ).action(async (venue: string, market: string, o: Record<string, string & string[]>) => {
    const { positions } = (await (await api()).must("GET", "/admin/positions")) as {
      positions: { venue: string; market: string; position: number }[];
    };
    const held = positions.find((p) => p.venue === venue && p.market === market && p.position !== 0);
    if (!held) throw new CliError(`no open position in ${venue} ${market}`);
    await call("POST", "/admin/orders", {
      strategyId: o.strategy,
      venue,
      market,
      side: held.position > 0 ? "sell" : "buy",
      effect: "close",
      quantity: Math.abs(held.position),
      ...priced(o),
    });
  });

  // --- ingestion, compliance, evidence -------------------------------------------------------------------
  const ingestion = command(program, "ingestion", "market data ingestion: status, run");
  command(ingestion, "status", "last run per venue, counts, errors by kind").action(() =>
    call("GET", "/admin/ingestion/status"),
  );
  command(ingestion, "run", "pull the venues now")
    .option("--venues <venues...>", "kalshi and/or polymarket (default both)")
    .option("--max-pages <n>", "pages per venue (1–20)", int("--max-pages"))
    .action((o: { venues?: string[]; maxPages?: number }) =>
      call("POST", "/admin/ingestion/run", {
        ...(o.venues ? { venues: o.venues } : {}),
        ...(o.maxPages ? { maxPages: o.maxPages } : {}),
      }),
    );
  const compliance = command(program, "compliance", "the compliance rule set");
  command(compliance, "show", "the rules and their version").action(() =>
    call("GET", "/admin/compliance/rules"),
  );
  command(compliance, "set", "replace the rule set (versioned, audited)")
    .argument("<json>", "the ComplianceRuleSet (inline, @file or -)", jsonArg)
    .action((rules: unknown) => call("PUT", "/admin/compliance/rules", rules));
  command(program, "evidence", "raw evidence bytes by hash (re-hashed by the gateway)")
    .argument("<sha256>")
    .requiredOption("-o, --out <file>", "where to write the bytes")
    .action(async (hash: string, o: { out: string }) => {
      const c = await api();
      const url = new URL(`/admin/evidence/${id(hash)}`, c.base);
      const answer = await c.call("GET", url.pathname);
      if (!answer.ok) throw failure(`GET ${url.pathname}`, answer);
      writeFileSync(o.out, answer.text);
      io.err(`wrote ${answer.text.length} characters to ${o.out}`);
    });

  // --- alerts and metrics (routes built by the alerts work; these commands read them once they exist) ----
  command(program, "alerts", "active and recent alerts (GET /admin/alerts)").action(() =>
    call("GET", "/admin/alerts"),
  );
  command(program, "metrics", "the Prometheus exposition (GET /admin/metrics)").action(async () => {
    const answer = await (await api()).call("GET", "/admin/metrics");
    if (!answer.ok) throw failure("GET /admin/metrics", answer);
    io.out(answer.text.replace(/\n$/, ""));
  });

  // --- the pre-live checklist -------------------------------------------------------------------------------
  command(
    program,
    "preflight",
    "the security guide's pre-live checklist, each line pass or fail (exit 1 on any failure)",
  )
    .addOption(
      new Option("--env <env>", "the deployed environment to check").choices(["staging", "production"]),
    )
    .option("--local", "check the local dev mesh (pnpm dev) and the configs' top level")
    .action(async (o: { env?: "staging" | "production"; local?: boolean }) => {
      if (!o.env === !o.local)
        throw new CliError("preflight needs exactly one of --env staging|production or --local", 2);
      const target: Target = o.local ? "local" : o.env!;
      const c = await api();
      if (target !== "local" && c.local)
        throw new CliError(`--env ${target} checks the deployed gateway: set PAULP_URL to its https URL`, 2);
      const lines = await preflight({
        target,
        root: io.root,
        client: c,
        listSecrets: (w) =>
          target === "local" ? Promise.resolve(devVarNames(io.root, w)) : secretsVia(io, w, target),
        now: Date.now,
      });
      printChecklist(lines, target);
      if (lines.some((l) => !l.ok)) exit.code = 1;
    });

  function printChecklist(lines: CheckLine[], target: Target) {
    if (globals().json) {
      io.out(JSON.stringify({ target, ok: lines.every((l) => l.ok), checks: lines }, null, 2));
      return;
    }
    for (const l of lines) io.out(`${l.ok ? "PASS" : "FAIL"}  ${l.item}: ${l.reason}`);
    const failed = lines.filter((l) => !l.ok).length;
    io.out(
      failed === 0
        ? `preflight ${target}: every check passed`
        : `preflight ${target}: ${failed} of ${lines.length} checks failed`,
    );
  }

  return program;
}

/** Names set in a worker's .dev.vars (what `pnpm dev` gives it as secrets). */
function devVarNames(root: string, worker: DeployedWorker): string[] {
  const file = path.join(root, "workers", worker, ".dev.vars");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .map((l) => /^([A-Z0-9_]+)=/.exec(l)?.[1])
    .filter((n): n is string => Boolean(n));
}

const execFileAsync = promisify(execFile);

/** `wrangler secret list --env <env> --format json`: `[{ "name", "type" }]`, names only (never values). */
async function secretsVia(
  io: Io,
  worker: DeployedWorker,
  target: Exclude<Target, "local">,
): Promise<string[]> {
  if (io.listSecrets) return io.listSecrets(worker, target);
  const wrangler = path.join(io.root, "node_modules", ".bin", "wrangler");
  const { stdout } = await execFileAsync(
    wrangler,
    [
      "secret",
      "list",
      "--env",
      target,
      "--format",
      "json",
      "-c",
      path.join("workers", worker, "wrangler.jsonc"),
    ],
    {
      cwd: io.root,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      maxBuffer: 1 << 20,
    },
  ).catch((error: { stderr?: string; message: string }) => {
    const line = (error.stderr ?? error.message).split("\n").find((l) => l.trim() && !/^\s*[▲⛅─]/.test(l));
    throw new Error(line?.trim() ?? "wrangler secret list failed");
  });
  const list = JSON.parse(stdout.slice(stdout.indexOf("["))) as { name: string }[];
  return list.map((s) => s.name);
}

function devToken(root: string): string | undefined {
  const file = path.join(root, "workers", "gateway", ".dev.vars");
  if (!existsSync(file)) return undefined;
  const line = readFileSync(file, "utf8")
    .split("\n")
    .find((l) => l.startsWith("ADMIN_TOKEN="));
  return line ? (JSON.parse(line.slice("ADMIN_TOKEN=".length)) as string) : undefined;
}

/** Run the CLI; resolves to the exit status. Errors are one line on stderr, never a stack. */
export async function main(io: Io): Promise<number> {
  const exit = { code: 0 };
  const program = buildProgram(io, exit);
  if (io.argv.length === 0) {
    program.outputHelp({ error: true });
    return 2;
  }
  try {
    await program.parseAsync(io.argv, { from: "user" });
    return exit.code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are successes; anything else commander refuses is a usage error.
      return error.code === "commander.helpDisplayed" ||
        error.code === "commander.version" ||
        error.code === "commander.help"
        ? 0
        : 2;
    }
    if (error instanceof CliError) {
      io.err(`error: ${error.message}`);
      if (program.opts<Globals>().json && error.body !== undefined)
        io.out(JSON.stringify(error.body, null, 2));
      return error.exitCode;
    }
    if (error instanceof InvalidArgumentError) {
      io.err(`error: ${error.message}`);
      return 2;
    }
    io.err(`error: ${(error as Error)?.message ?? String(error)}`.split("\n")[0]!);
    return 1;
  }
}
