import { WorkerEntrypoint } from "cloudflare:workers";
import { err, ok } from "./common.js";

const state = { books: new Map(), evidence: new Map(), calls: [] };

export default class IngestionStub extends WorkerEntrypoint {
  async health() {
    return { service: "ingestion", ok: true, checks: [] };
  }
  async getOrderBook(venue, marketId) {
    state.calls.push({ method: "getOrderBook", venue, marketId });
    const b = state.books.get(`${venue}:${marketId}`);
    return b
      ? ok({ venue, marketId, fetchedAt: new Date().toISOString(), ageSeconds: 1, ...b })
      : err("not_found", `no book ${venue}:${marketId}`);
  }
  async getEvidence(hash) {
    const e = state.evidence.get(hash);
    return e ? ok(e) : err("not_found", `no evidence ${hash}`);
  }
  async _setBook(venue, marketId, book) {
    state.books.set(`${venue}:${marketId}`, book);
  }
  async _calls() {
    return state.calls;
  }
}
