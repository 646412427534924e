import { ApprovalAction, ApprovalStatus } from "@paulp/contracts";
import { Argument, Option } from "commander";
import { type Cli, command, id, jsonArg } from "./context";

/** The two-person desk: list, show, request, approve, reject, execute; who may approve. */
export function registerApprovals({ program, exit, api, print, call }: Cli): void {
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
}
