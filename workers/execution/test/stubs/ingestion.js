import { WorkerEntrypoint } from "cloudflare:workers";
import { err, ok } from "./common.js";

const state = {
  books: new Map(),
  evidence: new Map(),
  terms: new Map(),
  // Pre-trade: every market allowed and every evidence hash stored, unless a test says otherwise.
  verdicts: new Map(),
  missing: new Set(),
  preTradeDown: false,
  calls: [],
};

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
  // A market whose book is set exists; its terms hash is the one pairLeg() reviews ("e"…) unless changed.
  async getMarket(venue, marketId) {
    state.calls.push({ method: "getMarket", venue, marketId });
    if (!state.books.has(`${venue}:${marketId}`)) return err("not_found", `no market ${venue}:${marketId}`);
    return ok({ venue, marketId, termsHash: state.terms.get(`${venue}:${marketId}`) ?? "e".repeat(64) });
  }
  async _setTerms(venue, marketId, termsHash) {
    state.terms.set(`${venue}:${marketId}`, termsHash);
  }
  async getEvidence(hash) {
    const e = state.evidence.get(hash);
    return e ? ok(e) : err("not_found", `no evidence ${hash}`);
  }
  async preTradeCheck(venue, marketId, evidenceHashes) {
    state.calls.push({ method: "preTradeCheck", venue, marketId, evidenceHashes });
    if (state.preTradeDown) return err("service_unavailable", "stub told to fail the pre-trade check");
    return ok({
      compliance: state.verdicts.get(`${venue}:${marketId}`) ?? { verdict: "allow" },
      rulesVersion: 1,
      missingEvidence: evidenceHashes.filter((h) => state.missing.has(h)),
    });
  }
  async _setVerdict(venue, marketId, verdict) {
    if (verdict) state.verdicts.set(`${venue}:${marketId}`, verdict);
    else state.verdicts.delete(`${venue}:${marketId}`);
  }
  async _setMissingEvidence(hashes) {
    state.missing = new Set(hashes);
  }
  async _setPreTradeDown(down) {
    state.preTradeDown = down;
  }
  async _setBook(venue, marketId, book) {
    state.books.set(`${venue}:${marketId}`, book);
  }
  // The fast path's data side: every market is refreshed; an IBKR instrument only when the snapshot has its bid.
  async refreshMarks(markets) {
    state.calls.push({ method: "refreshMarks", markets });
    return ok({ refreshed: markets.map((m) => `${m.venue}:${m.market}`), errors: {} });
  }
  async ingestIbkrSnapshot(answer, instruments) {
    const rows = JSON.parse(new TextDecoder().decode(answer.bytes));
    state.calls.push({ method: "ingestIbkrSnapshot", url: answer.url, rows, instruments });
    const priced = instruments.filter((m) =>
      rows.some((r) => String(r.conid) === m.market && r["84"] !== undefined),
    );
    return ok({
      refreshed: priced.map((m) => `ibkr:${m.market}`),
      errors: priced.length < instruments.length ? { no_price: instruments.length - priced.length } : {},
    });
  }
  async _calls() {
    return state.calls;
  }
}
