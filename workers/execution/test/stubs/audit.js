import { WorkerEntrypoint } from "cloudflare:workers";
import { err, ok } from "./common.js";

const state = { events: [], failing: false, failingTypes: [] };

export default class AuditStub extends WorkerEntrypoint {
  async health() {
    return { service: "audit", ok: true, checks: [] };
  }
  async append(event) {
    if (state.failing || state.failingTypes.includes(event.type))
      return err("audit_unavailable", "stub audit is failing");
    state.events.push(event);
    return ok({ seq: state.events.length, hash: "a".repeat(64) });
  }
  async appendMany(events) {
    // All or none, like the real chain: one failing type fails the batch (the outbox's flush included).
    if (state.failing || events.some((e) => state.failingTypes.includes(e.type)))
      return err("audit_unavailable", "stub audit is failing");
    const receipts = [];
    for (const event of events) {
      state.events.push(event);
      receipts.push({ seq: state.events.length, hash: "a".repeat(64) });
    }
    return ok(receipts);
  }
  async _set(patch) {
    Object.assign(state, patch);
  }
  async _events() {
    return state.events;
  }
}
