import { writeFileSync } from "node:fs";
import { failure } from "../client";
import { type Cli, command, id, int, jsonArg } from "./context";

/** Market data: ingestion status and a run now, the compliance rule set, raw evidence by hash. */
export function registerIngestion({ program, io, api, call }: Cli): void {
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
}
