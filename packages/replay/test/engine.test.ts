import { DEFAULT_RISK_LIMITS, ReplayRefusalCode } from "@paulp/contracts";
import * as KalshiSpec from "@paulp/kalshi-spec";
import { parseDollars, parseQuantity } from "@paulp/kit";
import { decodeBook } from "@paulp/venue-decode";
import { clobBookIssues, gammaKeysetPageIssues } from "@paulp/venue-models";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { finish, isDone, type ReplayConfig, runReplay, startReplay, step } from "../src/engine";
import { verifiedTimeline } from "../src/evidence";
import { reportHash } from "../src/report";
import {
  clobBook,
  config,
  events,
  evidence,
  FETCHES,
  gamma,
  markets,
  series,
  TICKER,
} from "./engine-fixture";

async function report(over: Partial<ReplayConfig> = {}, stepSize?: number) {
  const r = await runReplay(await evidence(), config(over), stepSize);
  if (!r.ok) throw new Error(r.refusal.message);
  return r.report;
}

describe("the replay engine over a fixed evidence set", () => {
  it("gives a pinned report hash (the same in Node and workerd)", async () => {
    const r = await report();
    expect(r.summary).toMatchObject({ decisions: 4, orders: 4, fills: 3, denialsByCode: {} });
    expect(r.manifest.sightings).toBe(FETCHES.length);
    expect(r.manifest.evidence).toEqual([...(await evidence()).hashes].sort());
    // By hand: 3 @ 0.46, 10 @ 0.50, 10 @ 0.46; Kalshi's fee 0.07 × C × P × (1 − P) up to the cent: 0.06, 0.18, 0.18.
    expect(r.summary).toMatchObject({ fees: "0.4200", turnover: "10.9800" });
    expect(await reportHash(r)).toBe("798e5f2c8d21aecce1527cb895f6c9f69203bae5a3f55f737cef3b9d4cba8e6b");
  });

  it("running in steps of 1, 3 and all at once gives the same hash; the state between steps is plain JSON", async () => {
    const set = await evidence();
    const c = config();
    const timeline = await verifiedTimeline(set, {
      fromMs: Date.parse(c.window.from),
      toMs: Date.parse(c.window.to),
    });
    if (!timeline.ok) throw new Error(timeline.refusal.message);
    const hashes = new Set<string>();
    for (const size of [1, 3, FETCHES.length]) {
      let state = startReplay(c);
      let steps = 0;
      while (!isDone(state, timeline.sightings)) {
        // What a Durable Object stores between alarms, and reads back.
        state = JSON.parse(JSON.stringify(step(state, timeline.sightings, size)));
        steps++;
      }
      expect(steps).toBe(Math.ceil(FETCHES.length / size));
      hashes.add(await reportHash(finish(state)));
    }
    hashes.add(await reportHash(await report()));
    expect(hashes.size).toBe(1);
  });

  it("refuses a set with one changed byte in any object, naming that object", async () => {
    const set = await evidence();
    for (const hash of set.hashes) {
      const objects = new Map(set.objects);
      const bytes = Uint8Array.from(objects.get(hash)!);
      const i = bytes.length - 2;
      bytes[i] = bytes[i]! ^ 1;
      objects.set(hash, bytes);
      const r = await runReplay({ objects, sightings: set.sightings }, config());
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.refusal.code).toBe(ReplayRefusalCode.hashMismatch);
        expect(r.refusal.hash).toBe(hash);
        expect(r.refusal.message).toContain(hash);
      }
    }
  });

  it("fills against the book in force at decision + latency, never beyond its recorded depth", async () => {
    const set = await evidence();
    const r = await report();
    const first = r.trades[0]!;
    // Decided on 10 contracts shown at 0.4600; 100 ms later the book showed 3 there: 3 filled, the rest cancelled.
    expect(first).toMatchObject({
      side: "buy",
      quantity: 10,
      limitPrice: "0.4600",
      filled: 3,
      avgPrice: "0.4600",
    });
    expect(first.bookEvidenceHash).toBe(set.hashes[6]);
    expect(Date.parse(first.filledAt) - Date.parse(first.decidedAt)).toBe(250);
    // The order decided on that thinner book (3 shown) fills after the first took those 3: nothing is left.
    expect(r.trades[1]).toMatchObject({ quantity: 3, filled: 0, avgPrice: null, fee: "0.0000" });
    for (const t of r.trades) {
      const book = decodeBook(
        { venue: "kalshi", marketId: TICKER },
        undefined,
        set.objects.get(t.bookEvidenceHash)!,
      );
      if (!book.ok) throw new Error(book.detail);
      const depth = book.book.asks
        .filter((l) => parseDollars(l.price) <= parseDollars(t.limitPrice))
        .reduce((n, l) => n + parseQuantity(l.size), 0);
      expect(parseQuantity(t.filled)).toBeLessThanOrEqual(Math.min(depth, parseQuantity(t.quantity)));
    }
  });

  it("counts risk's denials by code, and decisions taken on a stale book", async () => {
    const r = await report({
      risk: { limits: { ...DEFAULT_RISK_LIMITS, maxOrderQuantity: 2 }, limitsVersion: 2 },
    });
    expect(r.summary.orders).toBe(0);
    expect(Object.keys(r.summary.denialsByCode)).toContain("QUANTITY_LIMIT_EXCEEDED");
    expect(r.manifest.risk.limitsVersion).toBe(2);
    // Four decisions; the last was on a Polymarket book 400 s old (risk's freshness limit is 120 s).
    const normal = await report();
    expect(normal.summary.staleDecisionShare).toBe("0.2500");
  });
});

describe("the fixture is what the venues' own models accept", () => {
  it("Kalshi's (kalshi-spec, strict) and Polymarket's (ts-sdk bindings, clob-client)", async () => {
    const strict = [
      [KalshiSpec.GetSeriesResponse, series],
      [KalshiSpec.GetEventsResponse, events],
      [KalshiSpec.GetMarketsResponse, markets],
      ...FETCHES.filter((f) => f.url.endsWith("/orderbook")).map(
        (f) => [KalshiSpec.GetMarketOrderbookResponse, f.body] as const,
      ),
    ] as const;
    for (const [schema, body] of strict) {
      const r = v.safeParse(schema, body);
      expect(r.issues?.map((i) => `${v.getDotPath(i)}: ${i.message}`) ?? []).toEqual([]);
    }
    expect(gammaKeysetPageIssues(gamma)).toEqual([]);
    expect(clobBookIssues(clobBook)).toEqual([]);
  });
});
