import { writeFileSync } from "node:fs";
import { CliError, failure } from "../client";
import { type Cli, command } from "./context";

/** The audit chain: status, verify (in steps), export, receipts, the watch, an anchor now. */
export function registerAudit({ program, io, exit, api, print, call }: Cli): void {
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
}
