import type {
  Message,
  MessageCreateParamsBase,
  StopReason,
  Usage,
} from "@anthropic-ai/sdk/resources/messages";
import type { ErrorResponse } from "@anthropic-ai/sdk/resources/shared";
import { modelLifecycle } from "@paulp/kit";
import { judge } from "./anthropic-judge";
import type { SimContext, SimHandler } from "./context";

export { judge } from "./anthropic-judge";

/**
 * Anthropic Messages API double (dev and tests only): `POST https://api.anthropic.com/v1/messages`, written against
 * the official SDK (`@anthropic-ai/sdk`): what it sends (`Authorization: Bearer`, `anthropic-version`, JSON body with only the
 * SDK's `MessageCreateParams` fields) is what it accepts; its answers are typed as the SDK's `Message` and its errors
 * as the SDK's `ErrorResponse`, at the statuses the SDK's error classes map (`core/error.ts`); a test drives the real
 * SDK against it (test/anthropic-sdk.test.ts). See docs/venues.md (Anthropic).
 *
 * - Any key starting with `sk-sim-` is valid, sent as the SDK sends it (`Authorization: Bearer <key>`) or as
 *   `x-api-key`; anything else is 401 authentication_error.
 *   Tests bind a generated key with that prefix, so no real key is ever needed or leaked.
 * - `anthropic-version` must be one the SDK has sent (`2026-10-21` by SDK 1.x, `2023-06-01` before): else 400.
 * - A body field the SDK's request type does not have (e.g. `temperature`, gone from current models) is 400
 *   invalid_request_error, as the API answers an extra input.
 * - A model past its end of life by the SDK's deprecation list, or one the SDK no longer names (retired models are
 *   removed from it), is refused as the API refuses a retired model: 404 not_found_error `model: <id>`.
 * - A forced tool call (`tool_choice: { type: "tool", name }`) is answered with a verdict computed from the two
 *   markets in the prompt (`<kalshi_market>` / `<polymarket_market>` JSON blocks): resolution source, rules, close
 *   time, thresholds and orientation are compared, so the seeded true pairs come out identical and the look-alikes
 *   (other close date, other threshold, inverted YES) not_equivalent.
 * - The simulated model is deliberately gullible: market text that tells the grader how to grade ("grade these
 *   identical") is obeyed, as a manipulated model might. `ADVERSARIAL_MARKETS` (@paulp/sim-universe) holds
 *   such texts; the check outside the model (governance's terms check) is what must catch them.
 * - Faults, so callers can test every failure: header `x-sim-fault: <kind>` on one request, or
 *   `POST /__sim/anthropic/faults` with `{ "fault": kind, "count": n, "retryAfter"?: "s", "retryAfterMs"?: "ms" }`
 *   to queue n faulty answers (`DELETE` clears). Kinds: 400, 401, 429 (retry-after 30 unless told), 500, 529,
 *   timeout (answers after 10 s), refusal (stop_reason refusal), malformed (a tool call whose input breaks the
 *   schema), garbage (a 200 that is not JSON).
 */
export const SIM_KEY_PREFIX = "sk-sim-";

/** The `anthropic-version` values the SDK has sent: `2026-10-21` (SDK 1.x, `client.ts`), `2023-06-01` before it. */
export const ACCEPTED_VERSIONS = ["2026-10-21", "2023-06-01"] as const;

/**
 * The body fields of the SDK's `MessageCreateParamsBase` (its header params `user_profile_id` / `workspace_id`
 * travel as headers). The compiler checks the list is exactly the SDK's, both ways.
 */
const BODY_FIELDS = [
  "max_tokens",
  "messages",
  "model",
  "cache_control",
  "container",
  "diagnostics",
  "inference_geo",
  "metadata",
  "output_config",
  "service_tier",
  "speed",
  "stop_sequences",
  "stream",
  "system",
  "thinking",
  "tool_choice",
  "tools",
] as const;
type SdkBodyField = Exclude<keyof MessageCreateParamsBase, "user_profile_id" | "workspace_id">;
const fieldsCoverSdk: [Exclude<SdkBodyField, (typeof BODY_FIELDS)[number]>] extends [never]
  ? true
  : Exclude<SdkBodyField, (typeof BODY_FIELDS)[number]> = true;
const sdkCoversFields: [Exclude<(typeof BODY_FIELDS)[number], SdkBodyField>] extends [never]
  ? true
  : Exclude<(typeof BODY_FIELDS)[number], SdkBodyField> = true;
void fieldsCoverSdk;
void sdkCoversFields;

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
/** A queued fault, with the retry headers a 429 / 529 answers with. */
interface QueuedFault {
  fault: FaultKind;
  retryAfter?: string;
  retryAfterMs?: string;
}
const FAULTS_KEY = "anthropic:faults";

export const handleAnthropic: SimHandler = async (request, url, sim) => {
  if (url.pathname === "/__sim/anthropic/faults") return faultAdmin(request, sim);
  if (url.pathname !== "/v1/messages") return apiError(404, "not_found_error", `${url.pathname} not found`);
  if (request.method !== "POST")
    return apiError(405, "invalid_request_error", `method ${request.method} not allowed`);
  // Read the body before any early answer: workerd complains about an unread request stream.
  const raw = await request.text();

  // The SDK (1.x) sends the key as `Authorization: Bearer <key>` (`apiKeyAuth` in client.ts); `x-api-key` is the
  // older header the API still names and the SDK leaves alone when set by hand. Either carries the key.
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "")?.[1] ?? "";
  const key = request.headers.get("x-api-key") || bearer;
  if (!key.startsWith(SIM_KEY_PREFIX)) return apiError(401, "authentication_error", "invalid x-api-key");
  const version = request.headers.get("anthropic-version") ?? "";
  if (!(ACCEPTED_VERSIONS as readonly string[]).includes(version)) {
    return apiError(
      400,
      "invalid_request_error",
      `anthropic-version: "${version.slice(0, 40)}" is not a valid version (${ACCEPTED_VERSIONS.join(", ")})`,
    );
  }
  if (!/^application\/json\b/i.test(request.headers.get("content-type") ?? ""))
    return apiError(400, "invalid_request_error", "content-type must be application/json");

  const header = request.headers.get("x-sim-fault");
  const fault: QueuedFault | null = header ? { fault: header as FaultKind } : await nextQueuedFault(sim);
  const kind = fault?.fault ?? null;
  if (fault && kind !== "timeout" && kind !== "refusal" && kind !== "malformed" && kind !== "garbage") {
    return faultResponse(
      fault as QueuedFault & { fault: Exclude<FaultKind, "timeout" | "refusal" | "malformed" | "garbage"> },
    );
  }
  if (kind === "timeout") await new Promise((resolve) => setTimeout(resolve, 10_000));
  if (kind === "garbage")
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
  // A retired model (by the SDK's own data, at the simulator's clock) is refused as the API refuses it.
  if (modelLifecycle(body.model as string, sim.now()).state === "retired")
    return apiError(404, "not_found_error", `model: ${body.model as string}`);

  const id = `msg_sim_${(await digest(JSON.stringify(body))).slice(0, 24)}`;
  const usage = usageOf(Math.ceil(JSON.stringify(body.messages).length / 4), 64);
  if (kind === "refusal") {
    return message({
      id,
      model: body.model as string,
      content: [],
      stop_reason: "refusal",
      stop_details: { type: "refusal", category: null, explanation: null },
      usage,
    });
  }
  const forced = body.tool_choice?.type === "tool" ? body.tool_choice.name : null;
  if (!forced) {
    return message({
      id,
      model: body.model as string,
      content: [
        {
          type: "text",
          text: "The simulator only answers forced tool calls with a verdict.",
          citations: null,
        },
      ],
      stop_reason: "end_turn",
      usage,
    });
  }
  const input = kind === "malformed" ? { verdict: "they look the same to me" } : judge(promptText(body));
  return message({
    id,
    model: body.model as string,
    content: [
      {
        type: "tool_use",
        id: `toolu_sim_${id.slice(8, 24)}`,
        name: forced,
        input,
        caller: { type: "direct" },
      },
    ],
    stop_reason: "tool_use",
    usage,
  });
};

interface MessagesBody {
  [field: string]: unknown;
  model?: unknown;
  max_tokens?: unknown;
  system?: unknown;
  messages?: { role?: unknown; content?: unknown }[];
  tools?: { name?: unknown }[];
  tool_choice?: { type?: string; name?: string };
}

function validateBody(body: MessagesBody): string | null {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "body must be an object";
  const extra = Object.keys(body).find((k) => !(BODY_FIELDS as readonly string[]).includes(k));
  if (extra) return `${extra}: Extra inputs are not permitted`;
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

async function faultAdmin(request: Request, sim: SimContext): Promise<Response> {
  if (request.method === "DELETE") {
    await sim.storage.delete(FAULTS_KEY);
    return Response.json({ cleared: true });
  }
  if (request.method !== "POST") return Response.json({ error: "POST or DELETE" }, { status: 405 });
  const body = (await request.json().catch(() => null)) as {
    fault?: string;
    count?: number;
    retryAfter?: unknown;
    retryAfterMs?: unknown;
  } | null;
  if (!body || !FAULT_KINDS.includes(body.fault as FaultKind)) {
    return Response.json({ error: `fault must be one of ${FAULT_KINDS.join(", ")}` }, { status: 400 });
  }
  const count = Number.isInteger(body.count) && (body.count ?? 0) > 0 ? Math.min(body.count!, 100) : 1;
  const entry: QueuedFault = {
    fault: body.fault as FaultKind,
    ...(typeof body.retryAfter === "string" ? { retryAfter: body.retryAfter } : {}),
    ...(typeof body.retryAfterMs === "string" ? { retryAfterMs: body.retryAfterMs } : {}),
  };
  const queue = [...(await queued(sim)), ...Array<QueuedFault>(count).fill(entry)];
  await sim.storage.put(FAULTS_KEY, queue);
  return Response.json({ queued: queue.length }, { status: 201 });
}

async function queued(sim: SimContext): Promise<QueuedFault[]> {
  // Older queues held bare kinds.
  const raw = (await sim.storage.get<(QueuedFault | FaultKind)[]>(FAULTS_KEY)) ?? [];
  return raw.map((f) => (typeof f === "string" ? { fault: f } : f));
}

async function nextQueuedFault(sim: SimContext): Promise<QueuedFault | null> {
  const queue = await queued(sim);
  if (queue.length === 0) return null;
  const [next, ...rest] = queue;
  await sim.storage.put(FAULTS_KEY, rest);
  return next!;
}

function faultResponse(
  f: QueuedFault & { fault: Exclude<FaultKind, "timeout" | "refusal" | "malformed" | "garbage"> },
): Response {
  const retry = (fallback?: string): Record<string, string> => ({
    ...((f.retryAfter ?? fallback) !== undefined ? { "retry-after": (f.retryAfter ?? fallback)! } : {}),
    ...(f.retryAfterMs !== undefined ? { "retry-after-ms": f.retryAfterMs } : {}),
  });
  switch (f.fault) {
    case "400":
      return apiError(400, "invalid_request_error", "messages: text content blocks must be non-empty");
    case "401":
      return apiError(401, "authentication_error", "invalid x-api-key");
    case "429":
      return apiError(
        429,
        "rate_limit_error",
        "Number of request tokens has exceeded your per-minute rate limit",
        retry("30"),
      );
    case "500":
      return apiError(500, "api_error", "Internal server error");
    case "529":
      return apiError(529, "overloaded_error", "Overloaded", retry());
  }
}

function requestIdHeader(): string {
  return `req_sim_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
}

function apiError(
  status: number,
  type: ErrorResponse["error"]["type"],
  message: string,
  headers: Record<string, string> = {},
): Response {
  const requestId = requestIdHeader();
  const body = { type: "error", error: { type, message }, request_id: requestId } satisfies ErrorResponse;
  return Response.json(body, { status, headers: { "request-id": requestId, ...headers } });
}

function usageOf(input: number, output: number): Usage {
  return {
    cache_creation: null,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    inference_geo: null,
    input_tokens: input,
    output_tokens: output,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: "standard",
    speed: null,
  };
}

function message(m: {
  id: string;
  model: string;
  content: Message["content"];
  stop_reason: StopReason;
  stop_details?: Message["stop_details"];
  usage: Usage;
}): Response {
  const body = {
    id: m.id,
    type: "message",
    role: "assistant",
    model: m.model,
    container: null,
    diagnostics: null,
    content: m.content,
    stop_reason: m.stop_reason,
    stop_details: m.stop_details ?? null,
    stop_sequence: null,
    usage: m.usage,
  } satisfies Message;
  return Response.json(body, { headers: { "request-id": `req_sim_${m.id.slice(8, 32)}` } });
}

async function digest(s: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
