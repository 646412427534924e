// Who counts as a person and who may approve, through the real workers: an alias never makes a second person,
// only people on the action's roster approve, and changing a roster is itself a two-person action.
// The test roster (vitest.config.ts) lists alice, bob, carol and dave @example.com for every action.
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AsPerson,
  adminFetch,
  approvalOf,
  auditEntries,
  goLive,
  paperStrategy,
  post,
  signIn,
  strategyOf,
} from "./helpers";

type Envelope = { error: { code: string; message: string } };
type Roster = { action: string; approvers: string[]; version: number; source: string };
type Listing = { action: string; roster: Roster | null; error: { message: string } | null };

let as: AsPerson;
beforeAll(async () => {
  as = await signIn({
    alice: "alice@example.com",
    bob: "bob@example.com",
    carol: "carol@example.com",
    dave: "dave@example.com",
    mallory: "mallory@example.com",
    // bob's mailbox under a plus tag, signed in as another Access user (another subject).
    "bob+x": "bob+x@example.com",
    // alice's mailbox under a tag, upper case: still alice.
    "ALICE+ops": "ALICE+ops@Example.COM",
    // bob's own Access login (his subject) after his email changed.
    "bob-renamed": { email: "robert@example.com", sub: "sub-bob@example.com" },
  });
});

/** alice asks for a change of a roster. */
const requestRosterChange = (payload: unknown) =>
  as("alice", "/admin/approvals", post({ action: "governance.roster_change", payload }));

async function goLiveRequest(): Promise<{ strategyId: string; requestId: string }> {
  const strategyId = await paperStrategy("Approvers test");
  const res = await as("alice", `/admin/strategies/${strategyId}/go-live`, await goLive(strategyId));
  expect(res.status).toBe(201);
  const { request } = (await res.json()) as { request: { requestId: string } };
  return { strategyId, requestId: request.requestId };
}

async function rosters(): Promise<Listing[]> {
  const res = await adminFetch("/admin/approvers");
  expect(res.status).toBe(200);
  return (await res.json()) as Listing[];
}

describe("one person is one person, under any alias", () => {
  it("bob's plus-alias, bob's other email and alice's aliases cannot make a second approval", async () => {
    const { strategyId, requestId } = await goLiveRequest();
    expect((await as("bob", `/admin/approvals/${requestId}/approve`)).status).toBe(200);

    for (const alias of ["bob+x", "bob-renamed"]) {
      const again = await as(alias, `/admin/approvals/${requestId}/approve`);
      expect(again.status, alias).toBe(409);
      expect(((await again.json()) as Envelope).error.message).toMatch(/already approved.*counts once/);
    }
    const self = await as("ALICE+ops", `/admin/approvals/${requestId}/approve`);
    expect(self.status).toBe(403);
    expect(((await self.json()) as Envelope).error.message).toMatch(/requester cannot approve/);

    // Nothing moved: one approval, the strategy still waits.
    const request = await approvalOf(requestId);
    expect(request.status).toBe("pending");
    expect(request.approvals.map((a) => a.approver)).toEqual(["bob@example.com"]);
    expect((await strategyOf(strategyId)).state).toBe("pending_live");

    // A second real person completes it.
    const carol = await as("carol", `/admin/approvals/${requestId}/approve`);
    expect(carol.status).toBe(200);
    expect((await strategyOf(strategyId)).state).toBe("live");
  });
});

describe("only people on the action's roster approve", () => {
  it("refuses someone off the roster, audits the refusal, and lets two rostered people approve", async () => {
    const { strategyId, requestId } = await goLiveRequest();
    const outsider = await as("mallory", `/admin/approvals/${requestId}/approve`);
    expect(outsider.status).toBe(403);
    expect(((await outsider.json()) as Envelope).error.message).toMatch(
      /mallory@example\.com is not on the approver roster of strategy\.go_live/,
    );
    expect((await approvalOf(requestId)).approvals).toEqual([]);
    expect((await strategyOf(strategyId)).state).toBe("pending_live");

    const refused = await auditEntries("governance.approval_refused");
    expect(
      refused.find((e) => e.payload.requestId === requestId && e.actor.email === "mallory@example.com"),
    ).toMatchObject({
      payload: {
        step: "approve",
        code: "forbidden",
        outcome: "denied",
        reason: expect.stringMatching(/roster/),
      },
    });

    expect((await as("dave", `/admin/approvals/${requestId}/approve`)).status).toBe(200);
    expect((await as("carol", `/admin/approvals/${requestId}/approve`)).status).toBe(200);
    expect((await strategyOf(strategyId)).state).toBe("live");
  });

  it("lists every action's roster, the first one set from config", async () => {
    const listing = await rosters();
    expect(listing.map((l) => l.action).sort()).toEqual(
      [
        "breaker.recovery_to_normal",
        "execution.policy_live",
        "governance.roster_change",
        "risk.capital_increase",
        "risk.limits_increase",
        "strategy.allocation_increase",
        "strategy.go_live",
      ].sort(),
    );
    const goLive = listing.find((l) => l.action === "strategy.go_live")!;
    expect(goLive.roster?.approvers).toEqual([
      "alice@example.com",
      "bob@example.com",
      "carol@example.com",
      "dave@example.com",
    ]);
  });
});

describe("changing a roster is a two-person action", () => {
  it("is requested, approved by two people on the roster-change roster, then applied", async () => {
    const before = (await rosters()).find((l) => l.action === "risk.capital_increase")!.roster!;
    const change = {
      action: "risk.capital_increase",
      approvers: [...before.approvers, "Mallory@Example.com"],
      version: before.version,
    };
    const requested = await as(
      "alice",
      "/admin/approvals",
      post({ action: "governance.roster_change", payload: change }),
    );
    expect(requested.status).toBe(201);
    const { requestId, payload } = (await requested.json()) as {
      requestId: string;
      payload: { approvers: string[] };
    };
    // The approved payload is the roster as it will be stored: canonical addresses, sorted.
    expect(payload.approvers).toContain("mallory@example.com");

    // Mallory is not (yet) on any roster: she cannot approve her own addition.
    expect((await as("mallory", `/admin/approvals/${requestId}/approve`)).status).toBe(403);
    expect((await as("bob", `/admin/approvals/${requestId}/approve`)).status).toBe(200);
    // Until it is applied, the roster is as it was.
    expect((await rosters()).find((l) => l.action === "risk.capital_increase")!.roster).toEqual(before);
    const applied = await as("carol", `/admin/approvals/${requestId}/approve`);
    expect(applied.status).toBe(200);
    const after = (await rosters()).find((l) => l.action === "risk.capital_increase")!.roster!;
    expect(after).toMatchObject({ version: before.version + 1, source: "approval" });
    expect(after.approvers).toContain("mallory@example.com");
    // Other actions' rosters are untouched.
    expect((await rosters()).find((l) => l.action === "strategy.go_live")!.roster!.approvers).not.toContain(
      "mallory@example.com",
    );
  });

  it("refuses a roster of fewer than two people and a change of an older roster version", async () => {
    const current = (await rosters()).find((l) => l.action === "execution.policy_live")!.roster!;
    const tooFew = await requestRosterChange({
      action: "execution.policy_live",
      approvers: ["bob@example.com", "bob+2@example.com"],
      version: current.version,
    });
    expect(tooFew.status).toBe(400);
    expect(((await tooFew.json()) as Envelope).error.message).toMatch(/at least 2 different people/);
    const stale = await requestRosterChange({
      action: "execution.policy_live",
      approvers: current.approvers,
      version: current.version + 5,
    });
    expect(stale.status).toBe(409);
  });
});
