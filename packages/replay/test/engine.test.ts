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
  at,
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

/** The fixture's config and its verified timeline (what the mesh steps through). */
async function fixtureTimeline() {
  const c = config();
  const timeline = await verifiedTimeline(await evidence(), {
    fromMs: Date.parse(c.window.from),
    toMs: Date.parse(c.window.to),
  });
  if (!timeline.ok) throw new Error(timeline.refusal.message);
  return { c, sightings: timeline.sightings };
}

describe("the replay engine over a fixed evidence set", () => {
  it("gives a pinned report hash (the same in Node and workerd)", async () => {
    const r = await report();
    expect(r.summary).toMatchObject({ decisions: 4, orders: 3, fills: 2, denialsByCode: {} });
    expect(r.manifest.sightings).toBe(FETCHES.length);
    // Every object once (the Polymarket book was fetched twice, the same bytes).
    expect(r.manifest.evidence).toEqual([...new Set((await evidence()).hashes)].sort());
    // By hand: 3 @ 0.46, then 10 @ 0.46; Kalshi's fee 0.07 × C × P × (1 − P) up to the cent: 0.06, 0.18.
    expect(r.summary).toMatchObject({ fees: "0.2400", turnover: "5.9800" });
    // The evidence's span: the first and the last sighting's fetch times (what a go-live citation counts).
    const times = FETCHES.map((f) => Date.parse(at(f.ms))).sort((a, b) => a - b);
    expect(r.summary.evidenceFrom).toBe(new Date(times[0]!).toISOString());
    expect(r.summary.evidenceTo).toBe(new Date(times.at(-1)!).toISOString());
    // Its coverage: the longest time between consecutive sightings, in whole seconds rounded up.
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(r.summary.largestEvidenceGapSeconds).toBe(Math.ceil(Math.max(...gaps) / 1000));
    expect(r.summary.largestEvidenceGapSeconds).toBeGreaterThan(0);
    expect(await reportHash(r)).toBe("f9782a2e7e34d924dfdc1bf909b7f71cb47d33cfc0349995fd1f16ca4c08ec0a");
  });

  it("running in steps of 1, 3 and all at once gives the same hash; the state between steps is plain JSON", async () => {
    const { c, sightings } = await fixtureTimeline();
    const hashes = new Set<string>();
    for (const size of [1, 3, FETCHES.length]) {
      let state = startReplay(c);
      let steps = 0;
      while (!isDone(state, sightings)) {
        // What a Durable Object stores between alarms, and reads back.
        state = JSON.parse(JSON.stringify(step(state, sightings, size)));
        steps++;
      }
      expect(steps).toBe(Math.ceil(FETCHES.length / size));
      hashes.add(await reportHash(finish(state)));
    }
    hashes.add(await reportHash(await report()));
    expect(hashes.size).toBe(1);
  });

  it("does not state a gap it could not see: a state saved before replay-engine.4 mid-run", async () => {
    const { c, sightings } = await fixtureTimeline();
    // Two sightings replayed by the older engine (no gap kept), the rest by this one.
    const { largestGapMs: _, ...older } = step(startReplay(c), sightings, 2);
    let state = step(older as never, sightings, FETCHES.length);
    expect(isDone(state, sightings)).toBe(true);
    expect(finish(state).summary.largestEvidenceGapSeconds).toBeNull();
    // One that had replayed nothing yet knows every gap.
    const { largestGapMs: __, ...unstarted } = startReplay(c);
    state = step(unstarted as never, sightings, FETCHES.length);
    expect(finish(state).summary.largestEvidenceGapSeconds).toBe(
      (await report()).summary.largestEvidenceGapSeconds,
    );
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
    // (The two orders are a minute apart by the clock: 59.9 s and 60.0 s after T0.)
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

  it("takes a Kalshi leg's category as ingestion held it at the start when the window re-fetches no event or series", async () => {
    // Ingestion looks an event up once and the series list once a pass: a window of books and pages alone.
    const noMetadata = FETCHES.filter((f) => !/\/(events|series)\b/.test(f.url));
    const run = async (category?: { name: string; since: string; evidence: string[] }) => {
      const c = config();
      const pair = c.pairs[0]!;
      const r = await runReplay(
        await evidence(noMetadata),
        config({ pairs: [{ ...pair, kalshi: { ...pair.kalshi, ...(category ? { category } : {}) } }] }),
      );
      if (!r.ok) throw new Error(r.refusal.message);
      return r.report;
    };
    // Risk refuses an opening order on a market with no category: without it, every order is denied.
    const bare = await run();
    expect(bare.summary.orders).toBe(0);
    // Four: a denial leaves no order, so the third signal (same minute as the second) is evaluated too.
    expect(bare.summary.denialsByCode).toEqual({ NO_CATEGORY: 4 });
    // Held since before the window: the same orders as the window with the event and series answers in it.
    const held = { name: "Economics", since: at(-3_600_000), evidence: ["e".repeat(64), "s".repeat(64)] };
    const withIt = await run(held);
    const full = await report();
    expect(withIt.summary).toMatchObject({ decisions: 4, orders: 3, fills: 2, denialsByCode: {} });
    expect(withIt.trades).toEqual(full.trades);
    expect(withIt.manifest.pairs[0]!.kalshi.category).toEqual(held);
    // Learned only after the window's decisions: not used before then.
    const late = await run({ ...held, since: at(500_000) });
    expect(late.summary.orders).toBe(0);
    expect(late.summary.denialsByCode).toEqual({ NO_CATEGORY: 4 });
  });

  it("decides only on books as fresh as the loop reads (a leg's book over 120 s old: no decision)", async () => {
    // Without the second Polymarket book, the last Kalshi book meets one 400 s old: the loop would have read a
    // fresh one (a sighting of its own), so the replay takes no decision there.
    const r = await runReplay(await evidence(FETCHES.filter((f) => f.ms !== 400_000)), config());
    if (!r.ok) throw new Error(r.refusal.message);
    expect(r.report.summary).toMatchObject({ decisions: 3, orders: 2, staleDecisionShare: "0.0000" });
  });

  it("counts risk's denials by code, and decisions taken on a stale book", async () => {
    const r = await report({
      risk: { limits: { ...DEFAULT_RISK_LIMITS, maxOrderQuantity: 2 }, limitsVersion: 2 },
    });
    expect(r.summary.orders).toBe(0);
    expect(Object.keys(r.summary.denialsByCode)).toContain("QUANTITY_LIMIT_EXCEEDED");
    expect(r.manifest.risk.limitsVersion).toBe(2);
    // Four decisions; the third was on a Polymarket book 80 s old: stale under a 60-s freshness limit.
    expect((await report()).summary.staleDecisionShare).toBe("0.0000");
    const strict = await report({
      risk: { limits: { ...DEFAULT_RISK_LIMITS, maxMarkAgeSeconds: 60 }, limitsVersion: 3 },
    });
    expect(strict.summary).toMatchObject({ decisions: 4, staleDecisionShare: "0.2500" });
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
