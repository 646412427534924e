import { WorkerEntrypoint } from "cloudflare:workers";
import { err, ok } from "./common.js";

// Receipts are single use; only the token "approved-<requestId>" redeems, for the action and payload it was minted for.
// Every strategy id exists (as a paper strategy) unless listed in `unknownStrategies`.
const state = { receipts: new Map(), strategies: [], pairs: [], unknownStrategies: [], calls: [] };

export default class GovernanceStub extends WorkerEntrypoint {
  async health() {
    return { service: "governance", ok: true, checks: [] };
  }
  async redeemReceipt(receipt, action, payload, actor) {
    state.calls.push({ method: "redeemReceipt", receipt, action, payload, actor });
    const r = state.receipts.get(receipt.requestId);
    if (!r || r.token !== receipt.receiptToken) return err("forbidden", "unknown receipt");
    if (r.used) return err("conflict", "receipt already executed");
    if (r.action !== action || JSON.stringify(r.payload) !== JSON.stringify(payload))
      return err("forbidden", "receipt is for another action or payload");
    r.used = true;
    return ok({
      requestId: receipt.requestId,
      action,
      payloadHash: "0".repeat(64),
      policyVersion: 1,
      approvers: ["a@x.test", "b@x.test"],
      requestedBy: "a@x.test",
    });
  }
  // Like the desk: only the token that executed it gives it back, once; the request is approved again with
  // no live token (a person reissues).
  async returnReceipt(receipt, reason, actor) {
    state.calls.push({ method: "returnReceipt", receipt, reason, actor });
    const r = state.receipts.get(receipt.requestId);
    if (!r || r.token !== receipt.receiptToken || !r.used)
      return err("approval_required", "not the receipt that executed it");
    r.used = false;
    r.token = null;
    return ok({ requestId: receipt.requestId, status: "approved" });
  }
  async tradablePairs() {
    return ok(state.pairs);
  }
  async activeStrategies() {
    return ok(state.strategies);
  }
  async getStrategy(strategyId) {
    if (state.unknownStrategies.includes(strategyId)) return err("not_found", `no strategy ${strategyId}`);
    const s = state.strategies.find((x) => x.id === strategyId);
    return ok(
      s ?? {
        id: strategyId,
        name: strategyId,
        kind: "test",
        state: "paper",
        allocation: "1000",
        venues: ["kalshi"],
        params: {},
      },
    );
  }
  async _mint(requestId, token, action, payload) {
    state.receipts.set(requestId, { token, action, payload, used: false });
  }
  async _set(patch) {
    Object.assign(state, patch);
  }
  async _calls() {
    return state.calls;
  }
}
