import * as v from "valibot";
import type { SimContext } from "./context";

/**
 * Switchable faults per host and path prefix, and real token-bucket rate limits per venue. Faults live in
 * the VenueState object's storage so they survive across requests; a fault with `times` fires that many
 * times and then disappears.
 */
export const FaultSpec = v.object({
  host: v.pipe(v.string(), v.minLength(1)),
  pathPrefix: v.optional(v.string(), "/"),
  /** Match the path exactly instead of as a prefix (a list, not the items under it). */
  exactPath: v.optional(v.boolean(), false),
  kind: v.picklist([
    "latency",
    "server_error",
    "rate_limit",
    "malformed",
    "truncated",
    "wrong_shape",
    "huge",
  ]),
  /** For server_error (default 503) and rate_limit (429). */
  status: v.optional(v.pipe(v.number(), v.integer(), v.minValue(400), v.maxValue(599))),
  /** Seconds for a Retry-After header on rate_limit; omitted → no header. */
  retryAfter: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(3600))),
  /** Body of a rate_limit answer: Kalshi's `{"error":"too many requests"}` or the `{code,message}` form. */
  bodyForm: v.optional(v.picklist(["error_string", "code_message"]), "code_message"),
  latencyMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(60_000)), 1000),
  /** For huge: the body size in bytes (default 12 MiB). */
  sizeBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64 * 1024 * 1024))),
  /** Fire this many times, then clear; omitted → until cleared. */
  times: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
});
/** A fault as configured over `/__sim/faults`. */
export type FaultSpec = v.InferOutput<typeof FaultSpec>;

/** A stored fault. */
export interface StoredFault extends FaultSpec {
  id: string;
  fired: number;
}

/** Token-bucket settings per venue bucket. */
export const RateLimitSpec = v.object({
  bucket: v.picklist(["kalshi", "polymarket-gamma", "polymarket-clob", "polymarket-data"]),
  capacity: v.pipe(v.number(), v.integer(), v.minValue(1)),
  refillPerSecond: v.pipe(v.number(), v.minValue(0)),
});
/** Token-bucket settings of one venue bucket. */
export type RateLimitSpec = v.InferOutput<typeof RateLimitSpec>;
type BucketName = RateLimitSpec["bucket"];

/** The venues' published read limits (Kalshi basic tier 20/s; Polymarket gamma 300, CLOB 1500, data 150 per 10 s). */
export const DEFAULT_RATE_LIMITS: Record<BucketName, { capacity: number; refillPerSecond: number }> = {
  kalshi: { capacity: 20, refillPerSecond: 20 },
  "polymarket-gamma": { capacity: 300, refillPerSecond: 30 },
  "polymarket-clob": { capacity: 1500, refillPerSecond: 150 },
  "polymarket-data": { capacity: 150, refillPerSecond: 15 },
};

const FAULTS_KEY = "faults";
const LIMITS_KEY = "rate_limits";
const buckets = new Map<string, { tokens: number; at: number }>();

async function loadFaults(sim: SimContext): Promise<StoredFault[]> {
  return (await sim.storage.get<StoredFault[]>(FAULTS_KEY)) ?? [];
}

async function loadLimits(
  sim: SimContext,
): Promise<Record<string, { capacity: number; refillPerSecond: number }>> {
  return { ...DEFAULT_RATE_LIMITS, ...((await sim.storage.get(LIMITS_KEY)) ?? {}) };
}

/** Take one token from a venue's bucket; answers the venue's 429 when empty, null otherwise. */
export async function consumeRateLimit(sim: SimContext, bucket: BucketName): Promise<Response | null> {
  const limit = (await loadLimits(sim))[bucket]!;
  const now = sim.now();
  // A past window read on its own clock (dev history) has buckets of its own: its times never drain the live ones.
  const key = sim.pastClock ? `${bucket}@past` : bucket;
  const state = buckets.get(key) ?? { tokens: limit.capacity, at: now };
  // Never negative: a clock that went back (a new past window) refills nothing rather than draining the bucket.
  const elapsed = Math.max(0, now - state.at);
  const tokens = Math.min(limit.capacity, state.tokens + (elapsed / 1000) * limit.refillPerSecond);
  if (tokens < 1) {
    buckets.set(key, { tokens, at: now });
    const wait =
      limit.refillPerSecond > 0 ? Math.max(1, Math.ceil((1 - tokens) / limit.refillPerSecond)) : 60;
    if (bucket === "kalshi") {
      // docs.kalshi.com/getting_started/rate_limits: `{"error": "too many requests"}`, no Retry-After.
      return Response.json({ error: "too many requests" }, { status: 429 });
    }
    return Response.json(
      { error: "Too Many Requests", retry_after_seconds: wait },
      { status: 429, headers: { "retry-after": String(wait) } },
    );
  }
  buckets.set(key, { tokens: tokens - 1, at: now });
  return null;
}

/** The fault for this request, if one matches (and counts it); null lets the request through. */
export async function interceptFault(_request: Request, url: URL, sim: SimContext): Promise<Response | null> {
  if (url.pathname.startsWith("/__sim/")) return null;
  const faults = await loadFaults(sim);
  const fault = faults.find(
    (f) =>
      f.host === url.hostname &&
      (f.exactPath ? url.pathname === f.pathPrefix : url.pathname.startsWith(f.pathPrefix)),
  );
  if (!fault) return null;
  fault.fired += 1;
  const remaining =
    fault.times !== undefined && fault.fired >= fault.times ? faults.filter((f) => f !== fault) : faults;
  await sim.storage.put(FAULTS_KEY, remaining);
  return faultResponse(fault, url);
}

function faultResponse(fault: StoredFault, url: URL): Promise<Response | null> | Response | null {
  const jsonHeaders = { "content-type": "application/json" };
  switch (fault.kind) {
    case "latency":
      return new Promise((resolve) => setTimeout(() => resolve(null), fault.latencyMs));
    case "server_error":
      return new Response(JSON.stringify({ code: "internal_server_error", message: "simulated failure" }), {
        status: fault.status ?? 503,
        headers: jsonHeaders,
      });
    case "rate_limit": {
      const body =
        fault.bodyForm === "error_string"
          ? { error: "too many requests" }
          : { code: "too_many_requests", message: "too many requests" };
      const headers: Record<string, string> = { ...jsonHeaders };
      if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
      return new Response(JSON.stringify(body), { status: fault.status ?? 429, headers });
    }
    case "malformed":
      return new Response("<html><body>upstream said hello</body></html>", {
        status: 200,
        headers: jsonHeaders,
      });
    case "truncated": {
      const body =
        url.hostname === "gamma-api.polymarket.com"
          ? '[{"id":"1","question":"Will'
          : '{"markets":[{"ticker":"KX';
      return new Response(body, { status: 200, headers: jsonHeaders });
    }
    case "wrong_shape":
      return new Response(JSON.stringify({ data: { items: "not what you expected" }, markets: 42 }), {
        status: 200,
        headers: jsonHeaders,
      });
    case "huge":
      return new Response(hugeBody(fault.sizeBytes ?? 12 * 1024 * 1024), {
        status: 200,
        headers: jsonHeaders,
      });
  }
}

/** A valid-looking JSON body of `size` bytes, streamed so the simulator never holds it whole. */
function hugeBody(size: number): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  const head = enc.encode('{"markets":[],"cursor":"","padding":"');
  const tail = enc.encode('"}');
  const chunk = enc.encode("x".repeat(64 * 1024));
  let sent = 0;
  const padding = Math.max(0, size - head.length - tail.length);
  let stage = 0;
  return new ReadableStream({
    pull(controller) {
      if (stage === 0) {
        controller.enqueue(head);
        stage = 1;
      } else if (stage === 1) {
        const n = Math.min(chunk.length, padding - sent);
        if (n > 0) {
          controller.enqueue(chunk.subarray(0, n));
          sent += n;
        }
        if (sent >= padding) stage = 2;
      } else {
        controller.enqueue(tail);
        controller.close();
      }
    },
  });
}

/** Admin endpoints under /__sim/faults on any host: POST adds a fault, GET lists, DELETE clears; PUT …/rate-limits. */
export async function handleFaultAdmin(
  request: Request,
  url: URL,
  sim: SimContext,
): Promise<Response | null> {
  if (url.pathname !== "/__sim/faults" && url.pathname !== "/__sim/faults/rate-limits") return null;
  if (url.pathname === "/__sim/faults/rate-limits") {
    if (request.method !== "PUT") return Response.json({ error: "method not allowed" }, { status: 405 });
    const parsed = v.safeParse(RateLimitSpec, await request.json().catch(() => null));
    if (!parsed.success) return Response.json({ error: parsed.issues[0].message }, { status: 400 });
    const limits = (await sim.storage.get<Record<string, unknown>>(LIMITS_KEY)) ?? {};
    limits[parsed.output.bucket] = {
      capacity: parsed.output.capacity,
      refillPerSecond: parsed.output.refillPerSecond,
    };
    await sim.storage.put(LIMITS_KEY, limits);
    buckets.delete(parsed.output.bucket);
    return Response.json({ rateLimits: await loadLimits(sim) });
  }
  if (request.method === "GET") {
    return Response.json({ faults: await loadFaults(sim), rateLimits: await loadLimits(sim) });
  }
  if (request.method === "DELETE") {
    await sim.storage.delete([FAULTS_KEY, LIMITS_KEY]);
    buckets.clear();
    return Response.json({ cleared: true });
  }
  if (request.method === "POST") {
    const parsed = v.safeParse(FaultSpec, await request.json().catch(() => null));
    if (!parsed.success) return Response.json({ error: parsed.issues[0].message }, { status: 400 });
    const fault: StoredFault = { ...parsed.output, id: crypto.randomUUID(), fired: 0 };
    await sim.storage.put(FAULTS_KEY, [...(await loadFaults(sim)), fault]);
    return Response.json({ fault }, { status: 201 });
  }
  return Response.json({ error: "method not allowed" }, { status: 405 });
}
