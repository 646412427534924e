import type { SimContext, SimHandler } from "./context";

/**
 * Anthropic Messages API double (dev and tests only): `POST https://api.anthropic.com/v1/messages`
 * with the real headers, body, response and error shapes (docs: platform.claude.com, "Messages",
 * "Tool use", "Errors"; see docs/venues.md (Anthropic)).
 *
 * - Any `x-api-key` starting with `sk-sim-` is valid; anything else is 401 authentication_error.
 *   Tests bind a generated key with that prefix, so no real key is ever needed or leaked.
 * - A forced tool call (`tool_choice: { type: "tool", name }`) is answered with a verdict computed
 *   from the two markets in the prompt (`<kalshi_market>` / `<polymarket_market>` JSON blocks):
 *   resolution source, rules, close time, thresholds and orientation are compared, so the seeded true
 *   pairs come out identical and the look-alikes (other close date, other threshold, inverted YES)
 *   not_equivalent.
 * - Faults, so callers can test every failure: header `x-sim-fault: <kind>` on one request, or
 *   `POST /__sim/anthropic/faults` with `{ "fault": kind, "count": n }` to queue n faulty answers
 *   (`DELETE` clears). Kinds: 400, 401, 429 (with retry-after), 500, 529, timeout (answers after 10 s),
 *   refusal (stop_reason refusal), malformed (a tool call whose input breaks the schema), garbage
 *   (a 200 that is not JSON).
 */
export const SIM_KEY_PREFIX = "sk-sim-";

const FAULT_KINDS = [
  "400",
  "401",
  "429",
  "500",
  "529",
  "timeout",
  "refusal",
  "malformed",
  "garbage",
] as const;
type FaultKind = (typeof FAULT_KINDS)[number];
const FAULTS_KEY = "anthropic:faults";

export const handleAnthropic: SimHandler = async (request, url, sim) => {
  if (url.pathname === "/__sim/anthropic/faults") return faultAdmin(request, sim);
  if (url.pathname !== "/v1/messages") return apiError(404, "not_found_error", `${url.pathname} not found`);
  if (request.method !== "POST")
    return apiError(405, "invalid_request_error", `method ${request.method} not allowed`);
  // Read the body before any early answer: workerd complains about an unread request stream.
  const raw = await request.text();

  const key = request.headers.get("x-api-key") ?? "";
  if (!key.startsWith(SIM_KEY_PREFIX)) return apiError(401, "authentication_error", "invalid x-api-key");
  if (request.headers.get("anthropic-version") !== "2023-06-01") {
    return apiError(
      400,
      "invalid_request_error",
      "anthropic-version: header is required and must be 2023-06-01",
    );
  }

  const fault = (request.headers.get("x-sim-fault") as FaultKind | null) ?? (await nextQueuedFault(sim));
  if (fault && fault !== "timeout" && fault !== "refusal" && fault !== "malformed" && fault !== "garbage") {
    return faultResponse(fault);
  }
  if (fault === "timeout") await new Promise((resolve) => setTimeout(resolve, 10_000));
  if (fault === "garbage")
    return new Response("<html>upstream hiccup</html>", {
      status: 200,
      headers: { "content-type": "text/html" },
    });

  let body: MessagesBody;
  try {
    body = JSON.parse(raw) as MessagesBody;
  } catch {
    return apiError(400, "invalid_request_error", "body is not valid JSON");
  }
  const invalid = validateBody(body);
  if (invalid) return apiError(400, "invalid_request_error", invalid);

  const id = `msg_sim_${(await digest(JSON.stringify(body))).slice(0, 24)}`;
  const usage = { input_tokens: Math.ceil(JSON.stringify(body.messages).length / 4), output_tokens: 64 };
  if (fault === "refusal") {
    return message({ id, model: body.model, content: [], stop_reason: "refusal", usage });
  }
  const forced = body.tool_choice?.type === "tool" ? body.tool_choice.name : null;
  if (!forced) {
    return message({
      id,
      model: body.model,
      content: [{ type: "text", text: "The simulator only answers forced tool calls with a verdict." }],
      stop_reason: "end_turn",
      usage,
    });
  }
  const input = fault === "malformed" ? { verdict: "they look the same to me" } : judge(promptText(body));
  return message({
    id,
    model: body.model,
    content: [{ type: "tool_use", id: `toolu_sim_${id.slice(8, 24)}`, name: forced, input }],
    stop_reason: "tool_use",
    usage,
  });
};

interface MessagesBody {
  model?: unknown;
  max_tokens?: unknown;
  system?: unknown;
  messages?: { role?: unknown; content?: unknown }[];
  tools?: { name?: unknown }[];
  tool_choice?: { type?: string; name?: string };
}

function validateBody(body: MessagesBody): string | null {
  if (typeof body !== "object" || body === null) return "body must be an object";
  if (typeof body.model !== "string" || body.model.length === 0) return "model: Field required";
  if (typeof body.max_tokens !== "number" || !Number.isInteger(body.max_tokens) || body.max_tokens < 1) {
    return "max_tokens: Field required";
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    return "messages: at least one message is required";
  for (const m of body.messages) {
    if (m.role !== "user" && m.role !== "assistant") return "messages: role must be user or assistant";
  }
  if (body.tool_choice?.type === "tool") {
    const names = (body.tools ?? []).map((t) => t.name);
    if (!names.includes(body.tool_choice.name))
      return `tool_choice: tool '${body.tool_choice.name}' not found in tools`;
  }
  return null;
}

function promptText(body: MessagesBody): string {
  return (body.messages ?? [])
    .filter((m) => m.role === "user")
    .map((m) =>
      typeof m.content === "string"
        ? m.content
        : Array.isArray(m.content)
          ? m.content
              .map((b: { type?: string; text?: string }) => (b.type === "text" ? (b.text ?? "") : ""))
              .join("\n")
          : "",
    )
    .join("\n");
}

interface MarketTerms {
  title?: string | null;
  rules?: string | null;
  resolutionSource?: string | null;
  closeTime?: string | null;
}

function block(text: string, tag: string): MarketTerms | null {
  const match = new RegExp(`<${tag}>\\s*([\\s\\S]*?)\\s*</${tag}>`).exec(text);
  if (!match) return null;
  try {
    return JSON.parse(match[1]!) as MarketTerms;
  } catch {
    return null;
  }
}

const NOISE = new Set(["source", "https", "http", "www", "gov", "com", "org", "the"]);
function sourceKey(s: string): string {
  return s
    .toLowerCase()
    .split(/[^a-z]+/)
    .filter((w) => w && !NOISE.has(w))
    .join("");
}

function words(s: string): Set<string> {
  return new Set(
    s
      .toLowerCase()
      .split(/[^a-z0-9.%$]+/)
      .filter((w) => w.length >= 3),
  );
}

function numbers(s: string): string {
  // Thresholds and amounts, not dates/years: "2.6%", "$95,000", "150k"; sorted so order does not matter.
  return [...s.matchAll(/\$?\d[\d,]*(?:\.\d+)?\s*(?:%|k\b)|\$\d[\d,]*(?:\.\d+)?/g)]
    .map((m) => m[0].replace(/[\s,]/g, ""))
    .sort()
    .join("|");
}

const BELOW = /\b(at or below|or below|below|under|less than|not above)\b/;

/** The simulated model's verdict: deterministic, from the terms only. */
export function judge(prompt: string): { grade: string; yesMapsTo: "YES" | "NO"; reasons: string[] } {
  const k = block(prompt, "kalshi_market");
  const p = block(prompt, "polymarket_market");
  if (!k || !p)
    return { grade: "uncertain", yesMapsTo: "YES", reasons: ["could not read both markets from the prompt"] };
  const reasons: string[] = [];
  const kText = `${k.title ?? ""} ${k.rules ?? ""}`;
  const pText = `${p.title ?? ""} ${p.rules ?? ""}`;
  if (!k.rules || !p.rules || !k.closeTime || !p.closeTime) {
    return { grade: "uncertain", yesMapsTo: "YES", reasons: ["rules or close time missing on one side"] };
  }

  const ks = sourceKey(k.resolutionSource ?? "");
  const ps = sourceKey(p.resolutionSource ?? "");
  const sameSource =
    (ks.length > 0 && ps.length > 0 && (ks.includes(ps) || ps.includes(ks))) ||
    (ks.length > 0 && sourceKey(pText).includes(ks)) ||
    (ps.length > 0 && sourceKey(kText).includes(ps));
  reasons.push(sameSource ? "resolution source: same publisher" : "resolution source: different or unstated");

  const hours = Math.abs(Date.parse(k.closeTime) - Date.parse(p.closeTime)) / 3_600_000;
  const closeOk = Number.isFinite(hours) && hours <= 48;
  reasons.push(Number.isFinite(hours) ? `close time: ${hours.toFixed(1)} h apart` : "close time: unparsable");

  const sameNumbers = numbers(kText.replace(BELOW, "")) === numbers(pText.replace(BELOW, ""));
  reasons.push(sameNumbers ? "thresholds: same" : "thresholds: differ");

  const a = words(k.rules);
  const b = words(p.rules);
  const overlap = [...a].filter((w) => b.has(w)).length / Math.max(1, new Set([...a, ...b]).size);
  reasons.push(`rules: ${Math.round(overlap * 100)}% wording overlap`);

  const inverted = BELOW.test(k.title?.toLowerCase() ?? "") !== BELOW.test(p.title?.toLowerCase() ?? "");
  reasons.push(
    inverted ? "orientation: inverted (Kalshi YES is Polymarket NO)" : "orientation: same (YES is YES)",
  );
  const yesMapsTo = inverted ? "NO" : "YES";

  // Inverted contracts are complements, not the same contract: the planted ones are look-alikes.
  if (!sameSource || !closeOk || !sameNumbers || inverted || overlap < 0.35)
    return { grade: "not_equivalent", yesMapsTo, reasons };
  if (hours <= 1 && overlap >= 0.8) return { grade: "identical", yesMapsTo, reasons };
  return { grade: "near_equivalent", yesMapsTo, reasons };
}

async function faultAdmin(request: Request, sim: SimContext): Promise<Response> {
  if (request.method === "DELETE") {
    await sim.storage.delete(FAULTS_KEY);
    return Response.json({ cleared: true });
  }
  if (request.method !== "POST") return Response.json({ error: "POST or DELETE" }, { status: 405 });
  const body = (await request.json().catch(() => null)) as { fault?: string; count?: number } | null;
  if (!body || !FAULT_KINDS.includes(body.fault as FaultKind)) {
    return Response.json({ error: `fault must be one of ${FAULT_KINDS.join(", ")}` }, { status: 400 });
  }
  const count = Number.isInteger(body.count) && (body.count ?? 0) > 0 ? Math.min(body.count!, 100) : 1;
  const queue = [
    ...((await sim.storage.get<FaultKind[]>(FAULTS_KEY)) ?? []),
    ...Array<FaultKind>(count).fill(body.fault as FaultKind),
  ];
  await sim.storage.put(FAULTS_KEY, queue);
  return Response.json({ queued: queue.length }, { status: 201 });
}

async function nextQueuedFault(sim: SimContext): Promise<FaultKind | null> {
  const queue = (await sim.storage.get<FaultKind[]>(FAULTS_KEY)) ?? [];
  if (queue.length === 0) return null;
  const [next, ...rest] = queue;
  await sim.storage.put(FAULTS_KEY, rest);
  return next!;
}

function faultResponse(kind: Exclude<FaultKind, "timeout" | "refusal" | "malformed" | "garbage">): Response {
  switch (kind) {
    case "400":
      return apiError(400, "invalid_request_error", "messages: text content blocks must be non-empty");
    case "401":
      return apiError(401, "authentication_error", "invalid x-api-key");
    case "429":
      return apiError(
        429,
        "rate_limit_error",
        "Number of request tokens has exceeded your per-minute rate limit",
        { "retry-after": "30" },
      );
    case "500":
      return apiError(500, "api_error", "Internal server error");
    case "529":
      return apiError(529, "overloaded_error", "Overloaded");
  }
}

function apiError(
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const requestId = `req_sim_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
  return Response.json(
    { type: "error", error: { type, message }, request_id: requestId },
    { status, headers: { "request-id": requestId, ...headers } },
  );
}

function message(m: {
  id: string;
  model: unknown;
  content: unknown[];
  stop_reason: string;
  usage: Record<string, number>;
}): Response {
  const requestId = `req_sim_${m.id.slice(8, 32)}`;
  return Response.json(
    {
      id: m.id,
      type: "message",
      role: "assistant",
      model: m.model,
      content: m.content,
      stop_reason: m.stop_reason,
      stop_sequence: null,
      usage: m.usage,
    },
    { headers: { "request-id": requestId } },
  );
}

async function digest(s: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
