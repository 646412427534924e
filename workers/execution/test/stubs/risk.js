import { WorkerEntrypoint } from "cloudflare:workers";
import { err, intentHash, ok } from "./common.js";

// A risk double: decisions are minted by evaluateOrder (approving unless told to deny) or planted by tests.
const state = { decisions: new Map(), breaker: "NORMAL", deny: false, failFills: false, calls: [] };
let seq = 0;

export default class RiskStub extends WorkerEntrypoint {
  async health() {
    return { service: "risk", ok: true, checks: [] };
  }
  async evaluateOrder(intent, actor) {
    state.calls.push({ method: "evaluateOrder", intent, actor });
    const decision = {
      decisionId: `dec-${++seq}`,
      approved: !state.deny,
      reasons: state.deny
        ? [{ code: "POSITION_LIMIT_EXCEEDED", message: "POSITION_LIMIT_EXCEEDED: stub denial" }]
        : [],
      limitsVersion: 1,
      breakerState: state.breaker,
      intentHash: await intentHash(intent),
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
      auditSeq: seq,
    };
    const opening = intent.effect === "open" || intent.effect === "increase";
    state.decisions.set(decision.decisionId, { decision, used: false, opening });
    return ok(decision);
  }
  // As the real risk: consume, read the breaker in the same call, refuse an opening decision in HALT.
  async consume(decisionId, hash) {
    state.calls.push({ method: "consume", decisionId, hash });
    const d = state.decisions.get(decisionId);
    if (!d) return err("not_found", `no decision ${decisionId}`);
    if (!d.decision.approved) return err("risk_denied", "decision was a denial");
    if (d.used) return err("conflict", "decision already used");
    if (Date.parse(d.decision.expiresAt) <= Date.now()) return err("conflict", "decision expired");
    if (d.decision.intentHash !== hash) return err("conflict", "decision approved a different intent");
    d.used = true;
    if (state.breaker === "HALT" && d.opening && !state.leakHalt)
      return err("breaker_halted", "breaker is HALT: opening orders may not be sent");
    return ok({ decision: d.decision, breaker: { state: state.breaker, version: 1 } });
  }
  // As the real risk: decide, and mark an approval used in the same step.
  async evaluateAndConsume(intent, actor) {
    if (state.decideError) return err(state.decideError, "stub told to fail deciding");
    // A slow risk: lets a test change something while an order waits for its decision.
    if (state.decideDelayMs) await new Promise((r) => setTimeout(r, state.decideDelayMs));
    const r = await this.evaluateOrder(intent, actor);
    state.calls.push({ method: "evaluateAndConsume", decisionId: r.value.decisionId });
    const d = state.decisions.get(r.value.decisionId);
    if (d.decision.approved) d.used = true;
    return ok({ decision: d.decision, breaker: { state: state.breaker, version: 1 } });
  }
  async getBreaker() {
    state.calls.push({ method: "getBreaker" });
    return ok({
      state: state.breaker,
      version: 1,
      since: new Date().toISOString(),
      reason: "",
      changedBy: "test",
      consecutiveFailures: {},
      thresholds: {},
      cautionThresholds: {},
    });
  }
  async recordFill(fill) {
    state.calls.push({ method: "recordFill", fill, refused: state.failFills || state.refuseFills });
    if (state.refuseFills) return err("validation_failed", "stub refuses this fill");
    return state.failFills ? err("service_unavailable", "stub refuses fills") : ok({ applied: true });
  }
  async recordFills(fills) {
    state.calls.push({ method: "recordFills", fills, refused: state.failFills });
    if (state.failFills) return err("service_unavailable", "stub refuses fills");
    // refuseFills: each fill refused on its own (as risk does for one it cannot apply), the call itself fine.
    if (state.refuseFills)
      return ok({ fills: fills.map((f) => ({ fillId: f.fillId, applied: false, error: "stub refuses" })) });
    return ok({ fills: fills.map((f) => ({ fillId: f.fillId, applied: true })) });
  }
  async releaseReservations(clientOrderIds) {
    state.calls.push({ method: "releaseReservations", clientOrderIds, refused: state.failFills });
    if (state.failFills) return err("service_unavailable", "stub refuses");
    return ok({ released: clientOrderIds.length });
  }
  async reportSuccess(kind) {
    state.calls.push({ method: "reportSuccess", kind });
    return ok({ state: state.breaker });
  }
  async reportFailure(kind, detail, actor) {
    state.calls.push({ method: "reportFailure", kind, detail, actor });
    return ok({ state: state.breaker });
  }
  // ---- test controls ----
  async _plant(decision, opening = true) {
    state.decisions.set(decision.decisionId, { decision, used: false, opening });
  }
  async _set(patch) {
    Object.assign(state, patch);
  }
  async _calls() {
    return state.calls;
  }
}
