import { DEFAULT_REPLAY_CITATION_POLICY } from "@paulp/contracts";
import { untilSettled } from "@paulp/testing/until";
import { beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../src/env";
import { citationPolicy } from "../src/routes/replays";
import {
  accessToken,
  adminFetch,
  goLive,
  newSigner,
  paperStrategy,
  pastEvidence,
  personFetch,
  post,
  strategyOf,
  type TestSigner,
} from "./helpers";

type Envelope = { error: { code: string; message: string } };

let signer: TestSigner;
const people: Record<string, string> = {};

beforeAll(async () => {
  signer = await newSigner(true);
  for (const name of ["alice", "bob", "carol"])
    people[name] = await accessToken(signer, `${name}@example.com`);
});

function asOne(name: string, path: string, init: RequestInit = {}): Promise<Response> {
  return personFetch(people[name]!, path, init);
}

describe("governance admin routes with the admin token", () => {
  it("lists approvals, strategies and pairs", async () => {
    for (const path of ["/admin/approvals", "/admin/strategies", "/admin/pairs"]) {
      const res = await adminFetch(path);
      expect(res.status).toBe(200);
      expect(Array.isArray(await res.json())).toBe(true);
    }
  });

  it("refuses to request, approve, reject, execute, go live or review: the token is no person", async () => {
    const before = (await (await adminFetch("/admin/approvals")).json()) as unknown[];
    const id = await paperStrategy();
    const attempts: [string, RequestInit][] = [
      [
        "/admin/approvals",
        post({ action: "execution.policy_live", payload: { scope: "global", mode: "live" } }),
      ],
      ["/admin/approvals/apr_x/approve", { method: "POST" }],
      ["/admin/approvals/apr_x/reject", post({ reason: "no" })],
      ["/admin/approvals/apr_x/execute", { method: "POST" }],
      [`/admin/strategies/${id}/go-live`, { method: "POST" }],
      ["/admin/pairs/pair_x/review", post({ decision: "approve" })],
    ];
    for (const [path, init] of attempts) {
      const res = await adminFetch(path, init);
      expect(res.status, path).toBe(403);
      const body = (await res.json()) as Envelope;
      expect(body.error.code).toBe("forbidden");
      expect(body.error.message).toMatch(/admin token cannot/);
    }
    const after = (await (await adminFetch("/admin/approvals")).json()) as unknown[];
    expect(after).toHaveLength(before.length);
    const strategies = (await (await adminFetch("/admin/strategies")).json()) as {
      id: string;
      state: string;
    }[];
    expect(strategies.find((s) => s.id === id)?.state).toBe("paper");
  });

  it("validates queries and bodies with the error envelope", async () => {
    const badStatus = await adminFetch("/admin/approvals?status=bogus");
    expect(badStatus.status).toBe(400);
    expect(((await badStatus.json()) as Envelope).error.code).toBe("validation_failed");
    const badStrategy = await adminFetch("/admin/strategies", post({ name: "x" }));
    expect(badStrategy.status).toBe(400);
    const badJson = await adminFetch("/admin/strategies", { method: "POST", body: "{nope" });
    expect(((await badJson.json()) as Envelope).error.code).toBe("invalid_json");
    const missing = await adminFetch("/admin/approvals/apr_missing");
    expect(missing.status).toBe(404);
    const unknownPair = await adminFetch("/admin/pairs/pair_missing/assess", { method: "POST" });
    expect(unknownPair.status).toBe(404);
  });
});

describe("two-person go-live through the gateway (Cloudflare Access)", () => {
  it("request → first approval → second approval by another person → live", async () => {
    const id = await paperStrategy();
    const requested = await asOne("alice", `/admin/strategies/${id}/go-live`, await goLive(id));
    expect(requested.status).toBe(201);
    const { request } = (await requested.json()) as { request: { requestId: string; status: string } };
    expect(request.status).toBe("pending");

    const self = await asOne("alice", `/admin/approvals/${request.requestId}/approve`, { method: "POST" });
    expect(self.status).toBe(403);
    expect(((await self.json()) as Envelope).error.message).toMatch(/requester cannot approve/);

    const first = await asOne("bob", `/admin/approvals/${request.requestId}/approve`, { method: "POST" });
    expect(first.status).toBe(200);
    const firstBody = (await first.json()) as { request: { status: string }; applied: unknown };
    expect(firstBody.request.status).toBe("pending");
    expect(firstBody.applied).toBe(null);
    let strategies = (await (await adminFetch("/admin/strategies")).json()) as {
      id: string;
      state: string;
    }[];
    expect(strategies.find((s) => s.id === id)?.state).toBe("pending_live");

    const again = await asOne("bob", `/admin/approvals/${request.requestId}/approve`, { method: "POST" });
    expect(again.status).toBe(409);

    const second = await asOne("carol", `/admin/approvals/${request.requestId}/approve`, { method: "POST" });
    expect(second.status).toBe(200);
    const secondBody = (await second.json()) as {
      request: { status: string };
      applied: { ok: boolean };
      receipt?: unknown;
    };
    expect(secondBody.applied.ok).toBe(true);
    expect(secondBody.request.status).toBe("executed");
    // The receipt token never leaves the gateway.
    expect(JSON.stringify(secondBody)).not.toMatch(/receiptToken/);
    strategies = (await (await adminFetch("/admin/strategies")).json()) as { id: string; state: string }[];
    expect(strategies.find((s) => s.id === id)?.state).toBe("live");

    const rerun = await asOne("alice", `/admin/approvals/${request.requestId}/execute`, { method: "POST" });
    expect(rerun.status).toBe(409);
  });

  it("a rejected request cannot be approved, and its strategy is back in paper", async () => {
    const id = await paperStrategy();
    const requested = await asOne("alice", `/admin/strategies/${id}/go-live`, await goLive(id));
    const { request } = (await requested.json()) as { request: { requestId: string } };
    const rejected = await asOne(
      "bob",
      `/admin/approvals/${request.requestId}/reject`,
      post({ reason: "not ready" }),
    );
    expect(rejected.status).toBe(200);
    const late = await asOne("carol", `/admin/approvals/${request.requestId}/approve`, { method: "POST" });
    expect(late.status).toBe(409);
    expect((await strategyOf(id)).state).toBe("paper");
  });
});

describe("a go-live cites a replay (#18)", () => {
  const reasonOf = async (res: Response) => {
    const body = (await res.json()) as { error: { code: string; details?: { reason?: string } } };
    return `${res.status} ${body.error.code} ${body.error.details?.reason ?? ""}`.trim();
  };

  it("is refused without a valid citation, naming the rule, and the strategy stays in paper", async () => {
    const id = await paperStrategy("Citation refusals");
    const path = `/admin/strategies/${id}/go-live`;
    const bare = await asOne("alice", path, { method: "POST" });
    expect(bare.status).toBe(400);
    const bareError = ((await bare.json()) as { error: { message: string } }).error;
    expect(bareError.message).toMatch(/go-live needs a body \{"replayId"/);
    expect(
      await reasonOf(await asOne("alice", path, post({ replayId: "rp_00000000000000000000000000" }))),
    ).toBe("422 replay_citation_refused replay_missing");

    const now = Date.now();
    const replay = async (body: Record<string, unknown>) => {
      const res = await adminFetch("/admin/replays", post({ strategyId: id, ...body }));
      expect(res.status).toBe(202);
      const { id: replayId } = (await res.json()) as { id: string };
      return replayId;
    };
    const window = {
      from: new Date(now - 3_660_000).toISOString(),
      to: new Date(now - 30_000).toISOString(),
    };
    // Three replays that each break one rule; each is read until it ends (ingestion runs it under its own alarms).
    const otherParams = await replay({ ...window, params: { margin: "0.05" } });
    const short = await replay({ from: new Date(now - 600_000).toISOString(), to: window.to });
    // Two hours of evidence ending 130 minutes ago: long enough, too old (the policy: an hour, ending within two).
    await pastEvidence([now - 250 * 60_000, now - 130 * 60_000]);
    const old = await replay({
      from: new Date(now - 255 * 60_000).toISOString(),
      to: new Date(now - 125 * 60_000).toISOString(),
    });
    // A window of hours with no evidence in it covers none.
    const empty = await replay({
      from: new Date(now - 24 * 3_600_000).toISOString(),
      to: new Date(now - 20 * 3_600_000).toISOString(),
    });
    for (const replayId of [otherParams, short, old, empty]) {
      await untilSettled(
        async () =>
          (await (await adminFetch(`/admin/replays/${replayId}`)).json()) as { replay: { status: string } },
        (r) => r.replay.status !== "running",
        400,
      );
    }
    expect(await reasonOf(await asOne("alice", path, post({ replayId: otherParams })))).toBe(
      "422 replay_citation_refused replay_params_changed",
    );
    expect(await reasonOf(await asOne("alice", path, post({ replayId: short })))).toBe(
      "422 replay_citation_refused replay_too_short",
    );
    expect(await reasonOf(await asOne("alice", path, post({ replayId: old })))).toBe(
      "422 replay_citation_refused replay_too_old",
    );
    expect(await reasonOf(await asOne("alice", path, post({ replayId: empty })))).toBe(
      "422 replay_citation_refused replay_too_short",
    );
    // Another strategy's replay.
    const other = await paperStrategy("Citation other");
    const othersReplay = (await (
      await asOne("alice", `/admin/strategies/${other}/go-live`, await goLive(other))
    ).json()) as {
      request: { payload: { replay: { replayId: string } } };
    };
    expect(
      await reasonOf(
        await asOne("alice", path, post({ replayId: othersReplay.request.payload.replay.replayId })),
      ),
    ).toBe("422 replay_citation_refused replay_other_strategy");
    expect(await strategyOf(id)).toMatchObject({ state: "paper", pendingRequestId: null });
  });

  it("with a valid one, the request carries the citation and the summary the approvers see", async () => {
    const id = await paperStrategy("Citation accepted");
    const body = await goLive(id);
    const { replayId } = JSON.parse(String(body.body)) as { replayId: string };
    const replay = (await (await adminFetch(`/admin/replays/${replayId}`)).json()) as {
      replay: { reportHash: string; paramsHash: string; summary: Record<string, unknown> };
      report: { manifest: { strategy: { id: string } } };
    };
    expect(replay.report.manifest.strategy.id).toBe(id);
    // Its evidence (every 10 minutes, and whatever the crawls added) has no gap over the policy's 15 minutes.
    expect(replay.replay.summary.largestEvidenceGapSeconds).toBeGreaterThan(0);
    expect(replay.replay.summary.largestEvidenceGapSeconds).toBeLessThanOrEqual(15 * 60);
    const res = await asOne("alice", `/admin/strategies/${id}/go-live`, body);
    expect(res.status).toBe(201);
    const { request } = (await res.json()) as { request: { payload: { replay: Record<string, unknown> } } };
    expect(request.payload.replay).toMatchObject({
      replayId,
      reportHash: replay.replay.reportHash,
      paramsHash: replay.replay.paramsHash,
      summary: replay.replay.summary,
    });
  });
});

describe("the citation policy's configuration", () => {
  it("reads the span, the age and the largest gap from vars; a malformed value keeps the default", () => {
    const policy = (vars: Record<string, string>) => citationPolicy(vars as unknown as Env);
    expect(policy({})).toEqual(DEFAULT_REPLAY_CITATION_POLICY);
    expect(
      policy({ REPLAY_MIN_SPAN_HOURS: "1", REPLAY_MAX_AGE_HOURS: "2", REPLAY_MAX_GAP_MINUTES: "7.5" }),
    ).toEqual({
      minSpanMs: 3_600_000,
      maxAgeMs: 7_200_000,
      maxGapMs: 450_000,
    });
    expect(policy({ REPLAY_MAX_GAP_MINUTES: "0" }).maxGapMs).toBe(15 * 60_000);
    expect(policy({ REPLAY_MAX_GAP_MINUTES: "a day" }).maxGapMs).toBe(15 * 60_000);
  });
});
