import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { accessJwt, api, type ConsoleTab, launch, openConsole, shoot, signInWithToken } from "../src/browser";
import { ibkrGatewayHost } from "../src/mesh";

/** An event the test fires itself (a route held open, an answer arrived): `fired` settles once `fire()` is called. */
function signal(): { fired: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const fired = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { fired, fire };
}

// The operator console in a real headless Chromium against the whole seeded mesh (see src/global-setup.ts). Tests
// run in order and share the mesh: the breaker they move is the one the next test reads.

const mesh = inject("mesh");
let browser: Browser;
const tabs: ConsoleTab[] = [];

async function tab(options: Parameters<typeof openConsole>[2] = {}): Promise<ConsoleTab> {
  const t = await openConsole(browser, mesh, options);
  tabs.push(t);
  return t;
}

async function tokenTab(options: Parameters<typeof openConsole>[2] = {}): Promise<ConsoleTab> {
  const t = await tab(options);
  await signInWithToken(t, mesh.adminToken);
  await expect.poll(() => t.page.locator("#who").textContent()).toContain("shared admin token");
  return t;
}

async function personTab(email: string): Promise<ConsoleTab> {
  const t = await tab({ accessJwt: await accessJwt(mesh, email) });
  await expect.poll(() => t.page.locator("#who").textContent()).toContain(email);
  return t;
}

/** Waits until every panel of the shown view has answered (ok or failed), never on a timer. */
async function viewLoaded(t: ConsoleTab, view: string): Promise<void> {
  await t.page.goto(`${mesh.base}/console#${view}`);
  await t.page.locator(`[data-view="${view}"]`).waitFor({ state: "visible" });
  await t.page.waitForFunction(
    (v) =>
      [...document.querySelectorAll(`[data-view="${v}"] .panel:not([hidden])`)].every(
        (p) => (p as HTMLElement).dataset.status === "ok" || (p as HTMLElement).dataset.status === "error",
      ),
    view,
  );
}

async function bannerState(t: ConsoleTab): Promise<string | null> {
  return t.page.locator("#banner").getAttribute("data-state");
}

async function breaker(): Promise<{ state: string; version: number }> {
  return (await api(mesh, "GET", "/admin/circuit-breaker")) as { state: string; version: number };
}

interface ReplayAnswer {
  replay: { id: string; status: string; strategyId: string; reportHash: string | null; sightings: number };
  report: {
    summary: Record<string, string | number | Record<string, number>>;
    equityCurve: { at: string; equity: string }[];
    manifest: { evidence: string[]; sightings: number };
  } | null;
}

/** Dollars as the page shows them: a true minus sign, a dollar sign, thousands separated, cents. */
function dollars(text: string): string {
  const n = Number(text);
  return `${n < 0 ? "−" : ""}$${Math.abs(n).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** A fraction of 1 as the page shows it: "0.2500" → "25 %". */
function percent(text: string): string {
  return `${Math.round(Number(text) * 100 * 100) / 100} %`;
}

/** The IBKR gateway the dev mesh's execution talks to (workers/execution/wrangler.jsonc `IBKR_GATEWAY_URL`). */
const IBKR_GATEWAY_HOST = ibkrGatewayHost();
/** What the set-up's loop runs answered (named when a test finds less than they should have left). */
const loopRuns: unknown[] = [];

async function openObligations(): Promise<
  { obligationId: string; state: string; lastReason: string | null }[]
> {
  return (
    (await api(mesh, "GET", "/admin/execution/hedge-obligations?state=open&limit=50")) as {
      obligations: { obligationId: string; state: string; lastReason: string | null }[];
    }
  ).obligations;
}

beforeAll(async () => {
  browser = await launch();
  // The desk at work: the trading loop until it has traded and owes a hedge (each run is one cron tick; the seeded
  // pairs are priced to trade, so one or two do; a run whose order filled on a market the hedge map does not cover,
  // or too few contracts for a whole share, owes none), and the monitor's evaluation (alerts, an equity sample).
  // While it trades, IBKR's market data snapshot fails (the simulator answers 503): risk holds no mark for the
  // hedge instrument, so the hedge of a covered fill is not placed and stays owed, an open obligation the abandon
  // test takes over. Whatever the fast path's alarm does meanwhile (it ticks every 5 s), no mark can arrive; and
  // nothing runs the loop again after the fault is cleared, so nothing retries the hedge before the test.
  // The simulator's market data is held meanwhile, so the venues' prices stand: a book the fast path stores between
  // the loop's decision and its paper fill (which reads the stored book again) is the same book, and the fill
  // happens (the simulator's clock runs on, so signed reads still pass).
  await api(mesh, "POST", "/admin/dev/sim-clock", { marketsHeld: true });
  try {
    await api(mesh, "POST", "/admin/dev/sim-faults", {
      host: IBKR_GATEWAY_HOST,
      pathPrefix: "/v1/api/iserver/marketdata/snapshot",
      kind: "server_error",
    });
    // The order of events that used to leave nothing owed, made on purpose: the fast path ticks twice before the
    // loop trades (IBKR's first snapshot of a conid only starts its market data; the second would carry a price
    // and give risk a mark). With the snapshot failing, risk still holds none.
    for (let tick = 0; tick < 2; tick++) await api(mesh, "POST", "/admin/execution/fast-path/run");
    for (let run = 0; run < 5; run++) {
      const loop = (await api(mesh, "POST", "/admin/execution/run")) as { submitted: string[] };
      loopRuns.push(loop);
      if (loop.submitted.length > 0 && (await openObligations()).length > 0) break;
    }
  } finally {
    try {
      await api(mesh, "POST", "/admin/dev/sim-faults/clear");
    } finally {
      await api(mesh, "POST", "/admin/dev/sim-clock", { marketsHeld: false });
    }
  }
  await api(mesh, "POST", "/admin/alerts/evaluate");
});

afterEach(async () => {
  const open = tabs.splice(0);
  try {
    for (const t of open) t.assertNoErrors();
  } finally {
    for (const t of open) await t.close();
  }
});

afterAll(async () => {
  await browser?.close();
});

describe("the operator console", () => {
  it("signs in with the admin token (kept in the tab's sessionStorage only) and shows every view with data", async () => {
    const t = await tab();
    await expect.poll(() => t.page.locator("#signin").isVisible()).toBe(true);
    await shoot(t, mesh, "00-sign-in");
    await signInWithToken(t, mesh.adminToken);
    await expect.poll(() => t.page.locator("#who").textContent()).toContain("shared admin token");
    const storage = await t.page.evaluate(() => ({
      session: sessionStorage.getItem("paulp.console.token"),
      local: localStorage.length,
      cookie: document.cookie,
    }));
    expect(storage).toEqual({ session: mesh.adminToken, local: 0, cookie: "" });
    await expect.poll(() => bannerState(t)).toBe("NORMAL");

    await viewLoaded(t, "overview");
    await expect.poll(() => t.page.locator("#p-equity .figure").first().textContent()).toContain("$");
    expect(await t.page.locator("#p-equity canvas").count()).toBeGreaterThan(0);
    expect(await t.page.locator("#p-limits [role=meter]").count()).toBe(6);
    await shoot(t, mesh, "01-overview");

    await viewLoaded(t, "trading");
    const { orders } = (await api(mesh, "GET", "/admin/orders?limit=50")) as { orders: unknown[] };
    const { positions } = (await api(mesh, "GET", "/admin/risk/exposure")) as { positions: unknown[] };
    expect(orders.length, "the trading loop placed no order: nothing to trace").toBeGreaterThan(0);
    expect(await t.page.locator("#p-orders tbody tr").count()).toBe(orders.length);
    expect(await t.page.locator("#p-positions tbody tr").count()).toBe(positions.length);
    // Owed hedges: what the API lists, row for row (the set-up's fills met no IBKR mark: their hedges are owed).
    const owed = (await api(mesh, "GET", "/admin/execution/hedge-obligations?state=open&limit=50")) as {
      obligations: { clientOrderId: string }[];
    };
    await t.page.waitForFunction(() => document.getElementById("p-hedges")?.dataset.status === "ok");
    expect(await t.page.locator("#p-hedges .owed tbody tr").count()).toBe(owed.obligations.length);
    if (owed.obligations.length === 0)
      expect(await t.page.locator("#p-hedges").textContent()).toContain("No hedge is owed.");
    else
      expect(await t.page.locator("#p-hedges").textContent()).toContain(owed.obligations[0]!.clientOrderId);
    // The trace: order → risk decision → evidence → pair approval.
    await t.page
      .locator("#p-orders tbody tr")
      .first()
      .getByRole("button", { name: /^Trace/ })
      .click();
    await t.page.waitForFunction(() => document.getElementById("p-trace")?.dataset.status === "ok");
    const trace = (await t.page.locator("#p-trace").textContent()) ?? "";
    expect(trace).toContain("Risk decision");
    expect(trace).toContain("Binds this intent");
    expect(trace).toContain("matches");
    expect(trace).toContain("Pair approval");
    await shoot(t, mesh, "02-trading");

    await viewLoaded(t, "approvals");
    await expect.poll(() => t.page.locator("#two-person-note").isVisible()).toBe(true);
    await shoot(t, mesh, "03-approvals-token");

    await viewLoaded(t, "risk");
    expect(await t.page.locator("#p-decisions tbody tr").count()).toBeGreaterThan(0);
    expect(await t.page.locator("#p-breaker-history tbody tr").count()).toBeGreaterThan(0);
    await shoot(t, mesh, "04-risk");

    // One step of the evidence index audit (the cron's, which this mesh does not run): the panel says what it found.
    const step = (await api(mesh, "POST", "/admin/evidence/index-audit")) as { unvouched: string[] };
    expect(step.unvouched).toEqual([]);
    await viewLoaded(t, "audit");
    expect(await t.page.locator("#p-audit").textContent()).toContain("Integrity");
    expect(await t.page.locator("#p-ingestion tbody tr").count()).toBe(2);
    expect(await t.page.locator("#p-ingestion .evidence-index").textContent()).toMatch(
      /Evidence index: \d+ complete walk\(s\) of the bucket.*; 0 recovered\./,
    );
    await shoot(t, mesh, "05-audit-ingestion");

    await viewLoaded(t, "pairs");
    expect(await t.page.locator("#p-pairs tbody tr").count()).toBeGreaterThan(0);
    await t.page.locator("#pairs-review").selectOption("approved");
    await t.page.waitForFunction(() => document.getElementById("p-pairs")?.dataset.status === "ok");
    const reviews = await t.page.locator("#p-pairs tbody tr td:nth-child(6)").allTextContents();
    expect(reviews.length).toBeGreaterThan(0);
    expect(new Set(reviews)).toEqual(new Set(["approved"]));
    await shoot(t, mesh, "06-pairs");
  });

  it("abandons an owed hedge from the page: a reason is required, refusals are shown, the row leaves the open list, the audit records it", async () => {
    // The owed hedge: the set-up's loop filled a Kalshi signal order while IBKR's snapshot failed, so risk held no
    // mark for the hedge instrument and the hedge was not placed (as in the gateway's hedge.test.ts).
    const open = openObligations;
    const owed = await open();
    expect(
      owed.length,
      `the set-up's loop owed no hedge: nothing to abandon (its runs: ${JSON.stringify(loopRuns).slice(0, 2000)})`,
    ).toBeGreaterThan(0);
    // Owed for the reason the set-up made: no mark (IBKR's snapshot failed), not some other refusal.
    expect(owed[0]!.lastReason).toContain("risk holds no mark for it");
    const id = owed[0]!.obligationId;
    const row = (t: ConsoleTab) => t.page.locator("#p-hedges .owed tbody tr", { hasText: id });
    const abandonButton = (t: ConsoleTab) =>
      t.page.getByRole("button", { name: `Abandon the hedge owed for ${id}`, exact: true });

    // A second operator, on a phone, opens the same abandon first and is slower (answered 409 below).
    const late = await tokenTab({ width: 390, height: 844 });
    await viewLoaded(late, "trading");
    await expect.poll(() => row(late).count()).toBe(1);
    await late.page.locator("#p-hedges").scrollIntoViewIfNeeded();
    await shoot(late, mesh, "26-owed-hedge-phone", { fullPage: false });
    await abandonButton(late).click();
    await late.page
      .getByLabel("Reason (recorded in the audit chain)")
      .fill("e2e: hedged by hand, second operator");
    expect(
      await late.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth),
    ).toBeLessThanOrEqual(0);

    const t = await personTab("alice@paulp.dev");
    await viewLoaded(t, "trading");
    await expect.poll(() => row(t).count()).toBe(1);
    await t.page.locator("#p-hedges").scrollIntoViewIfNeeded();
    await shoot(t, mesh, "22-owed-hedge-before", { fullPage: false });

    // From the keyboard: the row's button takes focus and Enter opens the confirmation, focus in the reason.
    await abandonButton(t).focus();
    await t.page.keyboard.press("Enter");
    const dialog = t.page.locator("#confirm");
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await t.page.evaluate(() => document.activeElement?.id)).toBe("confirm-reason");
    expect(await t.page.locator("#confirm-title").textContent()).toBe(`Abandon the owed hedge ${id}`);
    const explain = (await t.page.locator("#confirm-explain").textContent()) ?? "";
    expect(explain).toContain("the trading loop stops retrying this hedge");
    expect(explain).toContain("the position stays unhedged unless it has been hedged by hand");
    expect(await t.page.locator("#confirm-request").textContent()).toContain(
      `POST /admin/execution/hedge-obligations/${id}/abandon`,
    );
    // The API's limits are stated; a blank or too short reason is refused in the page and nothing is sent.
    const sent: string[] = [];
    t.page.on("request", (r) => {
      if (r.url().endsWith("/abandon")) sent.push(r.method());
    });
    const ok = t.page.getByRole("button", { name: "Abandon this hedge" });
    const hint = t.page.locator("#confirm-reason-hint");
    expect(await hint.textContent()).toContain("Required: 3 to 500 characters (0 typed)");
    expect(await ok.isDisabled()).toBe(true);
    await t.page.keyboard.press("Enter");
    await t.page.getByLabel("Reason (recorded in the audit chain)").fill("   ");
    await t.page.keyboard.press("Enter");
    expect(await ok.isDisabled()).toBe(true);
    await t.page.getByLabel("Reason (recorded in the audit chain)").fill("ab");
    expect(await hint.textContent()).toContain("at least 3 characters");
    expect(await ok.isDisabled()).toBe(true);
    expect(await dialog.isVisible()).toBe(true);
    expect(sent).toEqual([]);
    expect((await open()).map((o) => o.obligationId)).toContain(id);

    const reason = "e2e: hedged by hand: order man-e2e-1";
    await t.page.getByLabel("Reason (recorded in the audit chain)").fill(reason);
    expect(await ok.isDisabled()).toBe(false);
    expect(await t.page.locator("#confirm-request").textContent()).toContain(`"reason": "${reason}"`);
    await shoot(t, mesh, "23-abandon-hedge-confirm", { fullPage: false });

    // A role that may not: the API's 403 envelope is shown in the dialog, which stays open; nothing changed.
    await t.page.route("**/abandon", (route) =>
      route.fulfill({
        status: 403,
        json: { error: { code: "forbidden", message: "e2e: this role may not abandon a hedge" } },
      }),
    );
    t.expectErrors(/status of 403/, 1);
    await ok.click();
    await expect
      .poll(() => t.page.locator("#confirm-error").textContent())
      .toBe("Refused: 403 forbidden: e2e: this role may not abandon a hedge");
    expect(await dialog.isVisible()).toBe(true);
    expect((await open()).map((o) => o.obligationId)).toContain(id);
    await t.page.unroute("**/abandon");

    // Confirmed: the request is held until the test releases it; meanwhile Confirm is disabled and Enter sends
    // nothing more (no double submit).
    sent.length = 0;
    const gate = signal();
    const held = signal();
    await t.page.route("**/abandon", async (route) => {
      held.fire();
      await gate.fired;
      await route.continue();
    });
    await ok.click();
    await held.fired;
    expect(await ok.isDisabled()).toBe(true);
    await t.page.getByLabel("Reason (recorded in the audit chain)").press("Enter");
    await t.page.getByLabel("Reason (recorded in the audit chain)").press("!");
    expect(await ok.isDisabled()).toBe(true);
    gate.fire();
    await expect
      .poll(() => t.page.locator("#action-result").textContent())
      .toContain(`Abandoned the owed hedge ${id}`);
    expect(sent).toEqual(["POST"]);
    expect(await dialog.isVisible()).toBe(false);
    // The panel was read again: the row has left the open list, as it has in the API. Focus, which was on its
    // button, stays in the panel, on its heading (not thrown to the top of the page).
    await expect.poll(() => row(t).count()).toBe(0);
    await expect.poll(() => t.page.evaluate(() => document.activeElement?.id)).toBe("h-hedges");
    expect((await open()).map((o) => o.obligationId)).not.toContain(id);
    const abandoned = (await api(
      mesh,
      "GET",
      "/admin/execution/hedge-obligations?state=abandoned&limit=50",
    )) as { obligations: { obligationId: string; state: string; lastReason: string | null }[] };
    const gone = abandoned.obligations.find((o) => o.obligationId === id);
    expect(gone?.state).toBe("abandoned");
    expect(gone?.lastReason).toContain(reason);
    // The audit chain holds it, with the person and the reason.
    const exported = await (
      await fetch(`${mesh.base}/admin/audit/export`, {
        headers: { authorization: `Bearer ${mesh.adminToken}` },
      })
    ).text();
    const entries = exported
      .split("\n")
      .filter((line) => line.includes('"execution.hedge_abandoned"'))
      .map(
        (line) =>
          JSON.parse(line) as {
            kind: string;
            type: string;
            actor: { email?: string };
            payload: { reason?: string; obligation?: { obligationId?: string } };
          },
      );
    const entry = entries.find(
      (e) =>
        e.kind === "entry" &&
        e.type === "execution.hedge_abandoned" &&
        e.payload.obligation?.obligationId === id,
    );
    expect(entry, "no execution.hedge_abandoned entry for it").toBeDefined();
    expect(entry!.actor.email).toBe("alice@paulp.dev");
    expect(entry!.payload.reason).toBe(reason);
    await t.page.locator("#p-hedges").scrollIntoViewIfNeeded();
    await shoot(t, mesh, "24-owed-hedge-after", { fullPage: false });

    // The second operator confirms too late: the API's 409 is shown in the dialog, and the panel behind it is read
    // again without the row.
    late.expectErrors(/status of 409/, 1);
    await late.page.getByRole("button", { name: "Abandon this hedge" }).click();
    await expect
      .poll(() => late.page.locator("#confirm-error").textContent())
      .toBe(`Refused: 409 conflict: hedge obligation ${id} is abandoned, not open`);
    expect(await late.page.locator("#confirm").isVisible()).toBe(true);
    await shoot(late, mesh, "25-abandon-hedge-conflict-phone", { fullPage: false });
    await expect.poll(() => row(late).count()).toBe(0);
    // Closing the dialog: the button that opened it was redrawn away with its row, so focus returns to the panel.
    await late.page.getByRole("button", { name: "Cancel" }).click();
    await expect.poll(() => late.page.evaluate(() => document.activeElement?.id)).toBe("h-hedges");
  });

  it("keeps keyboard focus on a row's control when its panel is redrawn (every 10 s), and on the heading when the row has gone", async () => {
    const t = await tokenTab();
    await viewLoaded(t, "trading");
    const trace = t.page.locator("#p-orders tbody button[aria-label^='Trace ']").first();
    await expect.poll(() => trace.count()).toBe(1);
    const label = await trace.getAttribute("aria-label");
    await trace.focus();
    // Marks the element focused now: after the redraw, focus must be on a new element for the same control.
    await trace.evaluate((el) => {
      (el as HTMLElement).dataset.e2eBefore = "1";
    });
    const focused = () =>
      t.page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        return {
          label: el?.getAttribute("aria-label") ?? null,
          before: el?.dataset.e2eBefore ?? null,
          inOrders: Boolean(el?.closest("#p-orders")),
        };
      });
    expect(await focused()).toEqual({ label, before: "1", inOrders: true });
    // The redraw the 10 s timer makes, asked for now: the view is shown again (every panel of it read and drawn).
    const seq = await t.page.locator("#p-orders").getAttribute("data-seq");
    await t.page.evaluate(() => window.dispatchEvent(new HashChangeEvent("hashchange")));
    await expect.poll(() => t.page.locator("#p-orders").getAttribute("data-seq")).not.toBe(seq);
    expect(await focused()).toEqual({ label, before: null, inOrders: true });
    // Keyboard still works from there: Enter on the refocused control opens its trace.
    await t.page.keyboard.press("Enter");
    await expect.poll(() => t.page.locator("#p-trace").isVisible()).toBe(true);
  });

  it("signs in as a person through Cloudflare Access: named, and allowed the two-person actions", async () => {
    const t = await personTab("alice@paulp.dev");
    expect(await t.page.locator("#signin").isVisible()).toBe(false);
    await viewLoaded(t, "approvals");
    expect(await t.page.locator("#two-person-note").isVisible()).toBe(false);
    await shoot(t, mesh, "07-approvals-access");
  });

  it("halts from the banner after a confirmation that shows the request; the banner turns HALT", async () => {
    const t = await tokenTab();
    await expect.poll(() => bannerState(t)).toBe("NORMAL");
    await t.page.getByRole("button", { name: "Emergency halt…" }).click();
    const dialog = t.page.locator("#confirm");
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await t.page.locator("#confirm-request").textContent()).toContain(
      "POST /admin/circuit-breaker/transition",
    );
    await t.page.getByLabel("Reason (recorded in the audit chain)").fill("e2e: halt from the console");
    expect(await t.page.locator("#confirm-request").textContent()).toContain("e2e: halt from the console");
    await shoot(t, mesh, "08-halt-confirmation");
    await t.page.getByRole("button", { name: "Halt trading" }).click();
    await expect.poll(() => bannerState(t)).toBe("HALT");
    expect(await t.page.locator("#banner").textContent()).toContain("e2e: halt from the console");
    expect((await breaker()).state).toBe("HALT");
    await shoot(t, mesh, "09-halted");
  });

  it("walks RECOVERY → NORMAL with two people, by clicking only", async () => {
    // Set-up: the breaker halted (the previous test halts it from the page; this one must not depend on that).
    if ((await breaker()).state !== "HALT")
      await api(mesh, "POST", "/admin/circuit-breaker/transition", {
        targetState: "HALT",
        reason: "e2e set-up",
      });
    const alice = await personTab("alice@paulp.dev");
    await expect.poll(() => bannerState(alice)).toBe("HALT");
    await alice.page.getByRole("button", { name: "Request recovery…" }).click();
    await alice.page.getByLabel("Reason").fill("e2e: cause found and fixed");
    await alice.page.getByRole("button", { name: "Confirm" }).click();
    await expect.poll(() => bannerState(alice)).toBe("RECOVERY");
    await alice.page.getByRole("button", { name: "Request NORMAL (two people)…" }).click();
    await alice.page.getByLabel("Reason").fill("e2e: probes clean");
    await alice.page.getByRole("button", { name: "Confirm" }).click();
    await expect.poll(() => alice.page.locator("#action-result").textContent()).toContain("Requested");

    for (const [i, email] of ["bob@paulp.dev", "carol@paulp.dev"].entries()) {
      const approver = await personTab(email);
      await viewLoaded(approver, "approvals");
      const card = approver.page.locator("#p-approvals article", { hasText: "Breaker RECOVERY → NORMAL" });
      expect(await card.textContent()).toContain("e2e: probes clean");
      expect(await card.textContent()).toContain("alice@paulp.dev");
      if (i === 0) await shoot(approver, mesh, "10-approval-pending");
      // Each card's buttons name their request (the visible text is the same on every card).
      const approve = card.getByRole("button", { name: /^Approve apr_/ });
      expect(await approve.textContent()).toBe("Approve…");
      await approve.click();
      await approver.page.getByRole("button", { name: "Approve", exact: true }).click();
      await expect.poll(() => approver.page.locator("#action-result").textContent()).toContain("Approved");
      if (i === 1) {
        await expect.poll(() => bannerState(approver)).toBe("NORMAL");
        await shoot(approver, mesh, "11-normal-after-two-approvals");
      }
    }
    expect((await breaker()).state).toBe("NORMAL");
  });

  it("shows the answer to the latest request when an older one arrives late", async () => {
    const t = await tokenTab();
    await expect.poll(() => bannerState(t)).toBe("NORMAL");
    await t.page.waitForFunction(() => document.getElementById("banner")?.getAttribute("aria-busy") === null);
    const banner = t.page.locator("#banner");
    const dropped = Number((await banner.getAttribute("data-dropped")) ?? 0);
    const gate = signal();
    const held = signal();
    const lateAnswered = signal();
    let first = true;
    // The first breaker read from here on is held, then answered with an older state (HALT); every later one goes
    // through at once and answers what the breaker is (NORMAL).
    await t.page.route("**/admin/circuit-breaker", async (route) => {
      if (!first) return route.continue();
      first = false;
      const older = { ...(await breaker()), state: "HALT", reason: "an older answer" };
      held.fire();
      await gate.fired;
      await route.fulfill({ json: older }).catch(() => {});
      lateAnswered.fire();
    });
    const refresh = t.page.getByRole("button", { name: "Refresh the breaker" });
    await refresh.click();
    await held.fired;
    await refresh.click();
    // The newer request was answered and shown; the older one was dropped (aborted and out of sequence).
    await t.page.waitForFunction((n) => {
      const b = document.getElementById("banner")!;
      return Number(b.dataset.dropped ?? 0) === n + 1 && b.dataset.status === "ok";
    }, dropped);
    expect(await bannerState(t)).toBe("NORMAL");
    gate.fire();
    await lateAnswered.fired;
    await shoot(t, mesh, "12-late-answer-dropped");
    expect(await bannerState(t)).toBe("NORMAL");
    expect(await banner.textContent()).not.toContain("an older answer");
    expect(Number(await banner.getAttribute("data-dropped"))).toBe(dropped + 1);
  });

  it("says in place that a request failed, and leaves no stale success on screen", async () => {
    const t = await tokenTab();
    await viewLoaded(t, "audit");
    expect(await t.page.locator("#p-audit").getAttribute("data-status")).toBe("ok");
    await t.page.route("**/admin/audit/status", (route) =>
      route.fulfill({
        status: 503,
        json: { error: { code: "service_unavailable", message: "audit down (e2e)" } },
      }),
    );
    t.expectErrors(/status of 503/);
    await t.page.locator("#p-audit").getByRole("button", { name: "Refresh" }).click();
    await t.page.waitForFunction(() => document.getElementById("p-audit")?.dataset.status === "error");
    const text = (await t.page.locator("#p-audit").textContent()) ?? "";
    expect(text).toContain("This request failed");
    expect(text).toContain("audit down (e2e)");
    expect(text).not.toContain("Integrity");
    await shoot(t, mesh, "13-failed-in-place");
  });

  it("refuses a bad replay request in place, with the API's own message", async () => {
    const t = await tokenTab();
    await viewLoaded(t, "trading");
    await expect.poll(() => t.page.locator("#h-replays").textContent()).toMatch(/^Replays: /);
    // The form's own check: params that are not a JSON object are said in place, and nothing is sent.
    await t.page.locator("#replay-params").fill("[1, 2]");
    await t.page.getByRole("button", { name: "Start replay…" }).click();
    await expect.poll(() => t.page.locator("#replay-form-error").textContent()).toContain("a JSON object");
    expect(await t.page.locator("#confirm").isVisible()).toBe(false);
    await t.page.locator("#replay-params").fill("");
    // The API's check: a window that ends in the future is refused 400; the dialog says why and stays open.
    await t.page
      .getByLabel("To (UTC, not in the future)", { exact: true })
      .fill(new Date(Date.now() + 3_600_000).toISOString());
    await t.page.getByRole("button", { name: "Start replay…" }).click();
    await expect.poll(() => t.page.locator("#replay-form-error").isVisible()).toBe(false);
    t.expectErrors(/status of 400/, 1);
    await t.page.getByRole("button", { name: "Start the replay" }).click();
    await expect
      .poll(() => t.page.locator("#confirm-error").textContent())
      .toBe(
        "Refused: 400 validation_failed: to: a replay covers evidence already fetched (to must not be in the future)",
      );
    expect(await t.page.locator("#confirm").isVisible()).toBe(true);
    await shoot(t, mesh, "16-replay-refused");
    await t.page.getByRole("button", { name: "Cancel" }).click();

    // A run that fails: the page follows it while it runs and then says why. The answers are held by the test (in
    // the API's shapes): a real failure needs tampered evidence, which ingestion's own tests cover.
    const strategyId = ((await t.page.locator("#replay-form-note").textContent()) ?? "").split(" ")[0]!;
    const running = {
      id: `rp_${"0".repeat(26)}`,
      strategyId,
      paramsHash: "0".repeat(64),
      window: { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date().toISOString() },
      status: "running",
      requestedAt: new Date().toISOString(),
      requestedBy: "token:admin-token",
      sightings: 0,
      totalSightings: 800,
      completedAt: null,
      reportHash: null,
      summary: null,
      failure: null,
    };
    const failure = { code: "evidence_hash_mismatch", message: "evidence 5f3a… does not hash to its name" };
    let reads = 0;
    await t.page.route("**/admin/replays", (route) =>
      route.request().method() === "POST" ? route.fulfill({ status: 202, json: running }) : route.continue(),
    );
    await t.page.route(`**/admin/replays/${running.id}`, (route) => {
      reads += 1;
      const replay =
        reads === 1
          ? { ...running, sightings: 200 }
          : { ...running, status: "failed", sightings: 400, failure };
      return route.fulfill({ json: { replay, report: null } });
    });
    await t.page.getByRole("button", { name: "Last hour" }).click();
    await t.page.getByRole("button", { name: "Start replay…" }).click();
    await t.page.getByRole("button", { name: "Start the replay" }).click();
    await t.page.waitForFunction(
      () => document.getElementById("p-replay")?.dataset.replayStatus === "failed",
    );
    // Read while running, then read again until it ended.
    expect(reads).toBeGreaterThanOrEqual(2);
    expect(await t.page.locator("#p-replay [role=alert]").textContent()).toBe(
      `The replay failed: ${failure.code}: ${failure.message}`,
    );
    expect(await t.page.locator("#p-replay").textContent()).toContain("400 of 800 sighting(s) replayed");
    await shoot(t, mesh, "17-replay-failed");
  });

  it("replays the seeded strategy from the console: follows it to complete, shows the API's report, cites it in go-live", async () => {
    const strategies = (await api(mesh, "GET", "/admin/strategies")) as {
      id: string;
      name: string;
      kind: string;
      state: string;
    }[];
    const seeded = strategies.find((s) => s.kind === "cross_venue_rv" && s.state === "paper");
    expect(seeded, "the seed made no paper strategy").toBeDefined();
    const t = await personTab("alice@paulp.dev");
    await viewLoaded(t, "trading");
    await t.page.getByRole("button", { name: `Replays of ${seeded!.name}` }).click();
    await expect.poll(() => t.page.locator("#h-replays").textContent()).toBe(`Replays: ${seeded!.name}`);
    await t.page.waitForFunction(() => document.getElementById("p-replays")?.dataset.status === "ok");

    // The form's default: the last hour, ending now or a little before.
    const defaultFrom = Date.parse(await t.page.locator("#replay-from").inputValue());
    const defaultTo = Date.parse(await t.page.locator("#replay-to").inputValue());
    expect(defaultTo - defaultFrom).toBe(3_600_000);
    expect(defaultTo).toBeLessThanOrEqual(Date.now());
    expect(Date.now() - defaultTo).toBeLessThan(5 * 60_000);
    // The window: from before the seed's half hour of dev history to now, so every fetch the mesh made or recorded is
    // in it and its evidence spans more than the dev citation policy's 6 minutes (REPLAY_MIN_SPAN_HOURS 0.1).
    const from = new Date(mesh.startedAt - 40 * 60_000).toISOString();
    const to = new Date().toISOString();
    await t.page.getByLabel("From (UTC)", { exact: true }).fill(from);
    await t.page.getByLabel("To (UTC, not in the future)", { exact: true }).fill(to);
    await t.page.getByRole("button", { name: "Start replay…" }).click();
    await expect.poll(() => t.page.locator("#confirm").isVisible()).toBe(true);
    const request = (await t.page.locator("#confirm-request").textContent()) ?? "";
    expect(request).toContain("POST /admin/replays");
    expect(JSON.parse(request.slice(request.indexOf("\n") + 1))).toEqual({
      strategyId: seeded!.id,
      from,
      to,
    });
    await shoot(t, mesh, "18-replay-confirm");
    await t.page.getByRole("button", { name: "Start the replay" }).click();

    // The page follows the run until it ends (its own polling); the test waits on that state, not on a timer.
    await expect.poll(() => t.page.locator("#action-result").textContent()).toMatch(/^Replay rp_\w+ started/);
    const id = /^Replay (rp_\w+)/.exec((await t.page.locator("#action-result").textContent()) ?? "")![1]!;
    await t.page.waitForFunction(
      () => ["complete", "failed"].includes(document.getElementById("p-replay")?.dataset.replayStatus ?? ""),
      undefined,
      { timeout: 240_000 },
    );
    const { replay, report } = (await api(mesh, "GET", `/admin/replays/${id}`)) as ReplayAnswer;
    expect(replay.status, JSON.stringify(replay)).toBe("complete");
    expect(await t.page.locator("#p-replay").getAttribute("data-replay-status")).toBe("complete");
    expect(report).not.toBeNull();
    expect(report!.manifest.sightings, "the window held no evidence").toBeGreaterThan(0);

    // The summary on the page is the report's, figure by figure (exact value and what is shown).
    const figure = (key: string) => t.page.locator(`#p-replay [data-figure="${key}"]`);
    const shown = async (key: string) => (await figure(key).locator(".value").textContent()) ?? "";
    const s = report!.summary as Record<string, string>;
    for (const key of [
      "pnl",
      "endingEquity",
      "fees",
      "maxDrawdown",
      "maxDrawdownFraction",
      "turnover",
      "decisions",
      "orders",
      "fills",
      "staleDecisionShare",
    ])
      expect(await figure(key).getAttribute("data-value"), key).toBe(String(s[key]));
    for (const key of ["pnl", "endingEquity", "fees", "maxDrawdown", "turnover"])
      expect(await shown(key), key).toBe(dollars(s[key]!));
    for (const key of ["maxDrawdownFraction", "staleDecisionShare"])
      expect(await shown(key), key).toBe(percent(s[key]!));
    for (const key of ["decisions", "orders", "fills"]) expect(await shown(key), key).toBe(String(s[key]));
    const denials = Object.entries(report!.summary.denialsByCode as Record<string, number>);
    const denialText = (await figure("denialsByCode").textContent()) ?? "";
    if (denials.length === 0) expect(denialText).toContain("none");
    for (const [code, n] of denials) expect(denialText).toContain(`${code} ${n}`);
    expect(await figure("reportHash").textContent()).toBe(replay.reportHash);
    expect(await figure("evidence").getAttribute("data-value")).toBe(
      String(report!.manifest.evidence.length),
    );
    // The span a go-live counts: the first to the last sighting replayed (the seed's half hour of history and more).
    const span = (await figure("evidenceSpan").textContent()) ?? "";
    expect(span).toContain("→");
    expect(Date.parse(String(s.evidenceTo)) - Date.parse(String(s.evidenceFrom))).toBeGreaterThan(6 * 60_000);
    // The equity curve: a uPlot canvas over every point of the report's curve.
    expect(await t.page.locator("#p-replay .chart canvas").count()).toBeGreaterThan(0);
    expect(await t.page.locator("#p-replay .chart").getAttribute("data-points")).toBe(
      String(report!.equityCurve.length),
    );
    // The list beside the strategy shows it complete too.
    await expect
      .poll(() => t.page.locator("#p-replays tbody tr", { hasText: replay.reportHash!.slice(0, 12) }).count())
      .toBe(1);
    await shoot(t, mesh, "19-replay-complete");

    // One click cites it in the go-live request; the desk accepts the citation.
    await t.page.getByRole("button", { name: "Cite in go-live…" }).click();
    await expect.poll(() => t.page.locator("#confirm").isVisible()).toBe(true);
    expect(await t.page.locator("#confirm-title").textContent()).toBe(`Request go-live: ${seeded!.name}`);
    expect(await t.page.getByLabel("Replay id (rp_…)").inputValue()).toBe(id);
    expect(await t.page.locator("#confirm-request").textContent()).toContain(`"replayId": "${id}"`);
    await shoot(t, mesh, "20-replay-cited-in-go-live");
    await t.page.getByRole("button", { name: "Confirm" }).click();
    await expect.poll(() => t.page.locator("#action-result").textContent()).toMatch(/^Go-live requested/);
    const after = (await api(mesh, "GET", "/admin/strategies")) as { id: string; state: string }[];
    expect(after.find((x) => x.id === seeded!.id)?.state).toBe("pending_live");
  });

  it("works at phone width and from the keyboard", async () => {
    const t = await tokenTab({ width: 390, height: 844 });
    await viewLoaded(t, "overview");
    const overflow = await t.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await shoot(t, mesh, "14-phone-overview");
    // Keyboard only: Tab to the banner's first action (the emergency halt, unless a test left the breaker halted),
    // open it with Enter, leave with Escape.
    const first = ((await t.page.locator("#banner-actions button").first().textContent()) ?? "").trim();
    let focused = "";
    for (let i = 0; i < 40 && focused !== first; i++) {
      await t.page.keyboard.press("Tab");
      focused = await t.page.evaluate(() => document.activeElement?.textContent?.trim() ?? "");
    }
    expect(focused).toBe(first);
    await t.page.keyboard.press("Enter");
    await expect.poll(() => t.page.locator("#confirm").isVisible()).toBe(true);
    expect(await t.page.evaluate(() => document.activeElement?.id)).toBe("confirm-reason");
    await shoot(t, mesh, "15-phone-halt-dialog");
    const before = await breaker();
    await t.page.keyboard.press("Escape");
    await expect.poll(() => t.page.locator("#confirm").isVisible()).toBe(false);
    // Escape sent nothing: the breaker did not move.
    expect((await breaker()).version).toBe(before.version);
    // The replay beside the strategy at phone width: the list, the form and the report fit (tables scroll inside).
    // Set-up when this test runs alone: a replay of the strategy the panel shows (the first one listed).
    const [first_] = (await api(mesh, "GET", "/admin/strategies")) as { id: string }[];
    const runs = (await api(mesh, "GET", `/admin/replays?strategyId=${first_!.id}`)) as unknown[];
    if (runs.length === 0)
      await api(mesh, "POST", "/admin/replays", {
        strategyId: first_!.id,
        from: new Date(mesh.startedAt - 600_000).toISOString(),
        to: new Date().toISOString(),
      });
    await viewLoaded(t, "trading");
    await t.page
      .locator("#p-replays tbody tr")
      .first()
      .getByRole("button", { name: /^Show replay/ })
      .click();
    await t.page.waitForFunction(() =>
      ["complete", "failed"].includes(document.getElementById("p-replay")?.dataset.replayStatus ?? ""),
    );
    expect(
      await t.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth),
    ).toBeLessThanOrEqual(0);
    await t.page.locator("#p-replay .figures").scrollIntoViewIfNeeded();
    await shoot(t, mesh, "21-phone-replay", { fullPage: false });
  });
});
