import { env, exports } from "cloudflare:workers";
import { sha256Hex } from "@paulp/kit";
import { untilSettled } from "@paulp/testing/until";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";

export const TEAM = "paulp-test.cloudflareaccess.com";
export const AUD = "paulp-test-aud";

/** The gateway under test, entered through its real fetch handler. */
export function gateway(): Fetcher {
  return (exports as unknown as { default: Fetcher }).default;
}

/** A request to the gateway with the admin token. */
export function adminFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${env.ADMIN_TOKEN}`);
  return gateway().fetch(`https://gw.test${path}`, { ...init, headers });
}

export interface TestSigner {
  kid: string;
  sign(
    claims: JWTPayload,
    options?: { expiresIn?: string | number; header?: Record<string, unknown> },
  ): Promise<string>;
}

/** A fresh RS256 key pair generated in the test; `register` publishes its public half on the team JWKS. */
export async function newSigner(register: boolean): Promise<TestSigner> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = `test-${crypto.randomUUID()}`;
  if (register) {
    const jwk = { ...(await exportJWK(publicKey)), kid };
    const res = await env.VENUE_SIM.fetch(`https://${TEAM}/__sim/access/keys`, {
      method: "POST",
      body: JSON.stringify({ jwk }),
    });
    if (res.status !== 201) throw new Error(`could not register test key: ${res.status} ${await res.text()}`);
  }
  return {
    kid,
    async sign(claims, options = {}) {
      // Claims given by the test win over the defaults, so a test can forge a wrong aud or iss.
      return new SignJWT({ iss: `https://${TEAM}`, aud: AUD, sub: "user-1", ...claims })
        .setProtectedHeader({ alg: "RS256", kid, ...(options.header ?? {}) })
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? "10m")
        .sign(privateKey);
    },
  };
}

/** A signed Access token for `email` from a registered signer. */
export async function accessToken(
  signer: TestSigner,
  email: string,
  extra: JWTPayload = {},
): Promise<string> {
  return signer.sign({ email, sub: `sub-${email}`, ...extra });
}

/** Headers of a request authenticated as a person through Cloudflare Access. */
export function asPerson(token: string, email?: string): Record<string, string> {
  return email
    ? { "cf-access-jwt-assertion": token, "cf-access-authenticated-user-email": email }
    : { "cf-access-jwt-assertion": token };
}

/** A request to the gateway as the person whose Access token is `token`. */
export function personFetch(token: string, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  for (const [k, v] of Object.entries(asPerson(token))) headers.set(k, v);
  return gateway().fetch(`https://gw.test${path}`, { ...init, headers });
}

/** Fetch as one of the people signed in by `signIn`, by name; a bare POST unless `init` says otherwise. */
export type AsPerson = (who: string, path: string, init?: RequestInit) => Promise<Response>;

/**
 * Sign people in through Access with a fresh registered key: each name maps to an email (its own login, `sub`
 * derived from the email) or to `{ email, sub }` (another login of the subject given).
 */
export async function signIn(
  logins: Record<string, string | { email: string; sub: string }>,
): Promise<AsPerson> {
  const signer = await newSigner(true);
  const tokens: Record<string, string> = {};
  for (const [name, login] of Object.entries(logins))
    tokens[name] =
      typeof login === "string"
        ? await accessToken(signer, login)
        : await accessToken(signer, login.email, { sub: login.sub });
  return (who, path, init = { method: "POST" }) => personFetch(tokens[who]!, path, init);
}

/** A JSON POST body. */
export const post = (body: unknown): RequestInit => ({
  method: "POST",
  body: JSON.stringify(body),
  headers: { "content-type": "application/json" },
});

/** A draft strategy created with the admin token and moved to paper; answers its id. */
export async function paperStrategy(name = "Gateway test", allocation = "500"): Promise<string> {
  const created = await adminFetch(
    "/admin/strategies",
    post({ name, kind: "cross_venue_arb", allocation, venues: ["kalshi", "polymarket"], params: {} }),
  );
  if (created.status !== 201) throw new Error(`strategy not created: ${created.status}`);
  const { id } = (await created.json()) as { id: string };
  const paper = await adminFetch(`/admin/strategies/${id}/paper`, { method: "POST" });
  if (paper.status !== 200) throw new Error(`strategy not moved to paper: ${paper.status}`);
  return id;
}

/**
 * Evidence fetched at these past times, as ingestion records a fetch (the object in its R2 bucket, its evidence row
 * and its line in the fetch log): a venue answer no replay reads as data (an exchange status), so it only dates the
 * evidence a replay covers. A go-live counts the span of evidence a replay replayed, and a test cannot wait an hour.
 */
export async function pastEvidence(atMs: readonly number[]): Promise<void> {
  for (const ms of atMs) {
    const fetchedAt = new Date(ms).toISOString();
    // kalshi-typescript's ExchangeStatus; a paused exchange's resume time (optional, nullable) makes each answer its own.
    const bytes = new TextEncoder().encode(
      JSON.stringify({
        exchange_active: true,
        trading_active: false,
        exchange_estimated_resume_time: fetchedAt,
      }),
    );
    const hash = await sha256Hex(bytes);
    const url = "https://api.elections.kalshi.com/trade-api/v2/exchange/status";
    await env.TEST_R2_EVIDENCE.put(hash, bytes, { sha256: hash });
    await env.TEST_D1_MARKETS.batch([
      env.TEST_D1_MARKETS.prepare(
        `INSERT INTO evidence (hash, venue, url, status, size, content_type, fetched_at, last_seen_at, parse_status)
         VALUES (?1, 'kalshi', ?2, 200, ?3, 'application/json', ?4, ?4, 'accepted') ON CONFLICT (hash) DO NOTHING`,
      ).bind(hash, url, bytes.byteLength, fetchedAt),
      env.TEST_D1_MARKETS.prepare(
        "INSERT INTO evidence_fetches (hash, venue, url, status, fetched_at) VALUES (?1, 'kalshi', ?2, 200, ?3)",
      ).bind(hash, url, fetchedAt),
    ]);
  }
}

/**
 * The recorded past a valid citation needs, made once a file: evidence every 10 minutes from 85 to 15 minutes before
 * its first use (the citation policy refuses a gap between sightings over 15 minutes).
 */
let recordedPast: Promise<void> | null = null;

/**
 * A complete replay of the strategy over the last 90 minutes (the tests' citation policy asks for an hour of
 * evidence, ending within two: `pastEvidence` provides 70 minutes of it); answers its id. The replay runs under
 * the ingestion worker's own alarms, which a test cannot drive across the binding: its record is read until it ends.
 */
export async function completedReplay(strategyId: string): Promise<string> {
  const now = Date.now();
  recordedPast ??= pastEvidence(Array.from({ length: 8 }, (_, i) => now - (85 - 10 * i) * 60_000));
  await recordedPast;
  const started = await adminFetch(
    "/admin/replays",
    post({
      strategyId,
      from: new Date(now - 90 * 60_000).toISOString(),
      to: new Date(now - 30_000).toISOString(),
    }),
  );
  if (started.status !== 202)
    throw new Error(`replay not started: ${started.status} ${await started.text()}`);
  const { id } = (await started.json()) as { id: string };
  const ended = await untilSettled(
    async () =>
      ((await (await adminFetch(`/admin/replays/${id}`)).json()) as { replay: { status: string } }).replay,
    (r) => r.status !== "running",
    400,
  );
  if (ended.status !== "complete") throw new Error(`replay ${id} ended ${JSON.stringify(ended)}`);
  return id;
}

/** The body of a go-live request citing a fresh complete replay of the strategy. */
export async function goLive(strategyId: string): Promise<RequestInit> {
  return post({ replayId: await completedReplay(strategyId) });
}

/** A strategy as the admin API lists it. */
export async function strategyOf(id: string): Promise<{ state: string; pendingRequestId: string | null }> {
  const list = (await (await adminFetch("/admin/strategies")).json()) as {
    id: string;
    state: string;
    pendingRequestId: string | null;
  }[];
  const found = list.find((s) => s.id === id);
  if (!found) throw new Error(`no strategy ${id}`);
  return found;
}

/** One approval request as the admin API shows it. */
export async function approvalOf(id: string): Promise<{
  status: string;
  approvals: { approver: string }[];
  cancellation?: { by: string; reason: string } | null;
}> {
  return (await (await adminFetch(`/admin/approvals/${id}`)).json()) as Awaited<
    ReturnType<typeof approvalOf>
  >;
}

/** Audit entries of `type` in the chain, read from the export (the chain the audit worker holds). */
export async function auditEntries(
  type: string,
): Promise<{ actor: { subject: string; email?: string }; payload: Record<string, unknown> }[]> {
  const text = await (await adminFetch("/admin/audit/export")).text();
  return text
    .split("\n")
    .filter((line) => line.includes(`"type":"${type}"`))
    .map((line) => JSON.parse(line))
    .filter((e) => e.kind === "entry" && e.type === type);
}

/** The circuit breaker as the admin API shows it. */
export async function breaker(): Promise<{ state: string; consecutiveFailures: Record<string, number> }> {
  return (await (await adminFetch("/admin/circuit-breaker")).json()) as Awaited<ReturnType<typeof breaker>>;
}

/** Set a venue simulator fault (`/__sim/faults`); it fires `times` times. */
export async function simFault(spec: Record<string, unknown>): Promise<void> {
  const res = await env.VENUE_SIM.fetch("https://api.elections.kalshi.com/__sim/faults", post(spec));
  if (res.status !== 201) throw new Error(`fault not set: ${res.status} ${await res.text()}`);
}

/** What the desk answers an approval: the request and, once applied, how the owning worker applied it. */
export type Approved = {
  request: { requestId: string; status: string };
  applied: { ok: boolean; error?: { code: string } } | null;
};

let approvers: Promise<AsPerson> | null = null;

/** alice requests `action` with `payload`; bob then carol approve (signed in through Access once per file). */
export async function twoPersonApproval(action: string, payload: unknown): Promise<Approved> {
  approvers ??= signIn({ alice: "alice@example.com", bob: "bob@example.com", carol: "carol@example.com" });
  const as = await approvers;
  const requested = await as("alice", "/admin/approvals", post({ action, payload }));
  if (requested.status !== 201)
    throw new Error(`request refused: ${requested.status} ${await requested.text()}`);
  const { requestId } = (await requested.json()) as { requestId: string };
  const first = (await (await as("bob", `/admin/approvals/${requestId}/approve`)).json()) as Approved;
  if (first.request.status !== "pending" || first.applied !== null)
    throw new Error(`one approval did more than record itself: ${JSON.stringify(first)}`);
  const second = await as("carol", `/admin/approvals/${requestId}/approve`);
  if (second.status !== 200)
    throw new Error(`second approval refused: ${second.status} ${await second.text()}`);
  return (await second.json()) as Approved;
}

export async function json<T>(res: Response | Promise<Response>): Promise<T> {
  const r = await res;
  const text = await r.text();
  if (!r.ok) throw new Error(`${r.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/**
 * What the seed does: crawl both venues, assess the proposed pairs, approve those graded equivalent. Answers how many
 * pairs are approved now, counting those another test file approved before (the files share ingestion and
 * governance's storage, in whatever order they run).
 */
export async function approvedPairs(): Promise<number> {
  // As `pnpm dev`'s seed does on a loaded machine, a round that approved nothing (ingestion's proposal to governance
  // or the LLM's assessment timed out; both are logged and retried by the next crawl) is tried again, a few times.
  for (let round = 1; ; round++) {
    const approved = await approvalRound();
    if (approved > 0 || round === 3) return approved;
  }
}

async function approvalRound(): Promise<number> {
  await json(adminFetch("/admin/ingestion/run", post({ maxPages: 20 })));
  for (let i = 0; i < 10; i++) {
    const { assessed } = await json<{ assessed: number }>(
      adminFetch("/admin/pairs/assess-pending", { method: "POST" }),
    );
    if (!assessed) break;
  }
  const as = await signIn({ reviewer: "alice@example.com" });
  const listed = await json<{ pairId: string; review: string; grade: string }[]>(adminFetch("/admin/pairs"));
  let approved = listed.filter((p) => p.review === "approved").length;
  for (const p of listed) {
    if (p.review !== "pending" || !["identical", "near_equivalent"].includes(p.grade)) continue;
    await json(
      as("reviewer", `/admin/pairs/${p.pairId}/review`, post({ decision: "approve", note: "fidelity test" })),
    );
    approved++;
  }
  return approved;
}
