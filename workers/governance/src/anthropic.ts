// Anthropic Messages API client for one forced tool call, checked against the official SDK (`@anthropic-ai/sdk`):
// the request body is built to `satisfies` the SDK's `MessageCreateParamsNonStreaming` (so a parameter the API no
// longer takes, like `temperature`, fails to compile), the headers are the ones the SDK sends (the key as
// `Authorization: Bearer`, `anthropic-version`, JSON; a test drives the SDK and compares), and the answer is read as the SDK's `Message`. Every way the call can go wrong comes back as a
// value (`error`, `timeout`, `refusal`, `malformed`), never as a throw, so the caller can turn it into `uncertain`.
//
// Why not the SDK itself as the client: it runs in workerd, but it reads configuration from the environment on its
// own (ANTHROPIC_BASE_URL, ANTHROPIC_CUSTOM_HEADERS, ANTHROPIC_LOG; with nodejs_compat, process.env is the worker's
// env), resolves credential chains when no key is passed, and its retry honours any retry-after with no bound on the
// total wait. This client takes only the key it is handed, sends through the egress allowlist, and bounds retries.
import type { Message, MessageCreateParamsNonStreaming } from "@anthropic-ai/sdk/resources/messages";
import type { AssessmentUsage } from "@paulp/contracts";
import type { EgressFetch } from "@paulp/kit";
import * as v from "valibot";

/** The production endpoint; in dev and tests the egress wrapper hands it to the venue simulator. */
export const MESSAGES_URL = "https://api.anthropic.com/v1/messages";
/** The API version the SDK (1.15.0) sends and its types describe (`anthropic-version` in `client.ts` buildHeaders). */
export const ANTHROPIC_VERSION = "2026-10-21";

/** A Messages API request body with one forced tool (built with `satisfies MessageCreateParamsNonStreaming`). */
export interface ForcedToolRequest {
  model: string;
  max_tokens: number;
  system: string;
  messages: { role: "user"; content: string }[];
  tools: { name: string; description: string; input_schema: { type: "object"; [k: string]: unknown } }[];
  tool_choice: { type: "tool"; name: string; disable_parallel_tool_use: true };
}
// Every request we can build is a valid SDK request (field types and shapes); `buildAssessmentRequest` adds the
// excess-property check (`satisfies`), so a field the SDK lacks fails to compile there.
const _requestIsSdkShaped = (r: ForcedToolRequest): MessageCreateParamsNonStreaming => r;
void _requestIsSdkShaped;

/** Token usage as the API reports it (the SDK's `Usage`, the fields we keep). */
export type TokenUsage = AssessmentUsage;

/** What came back, already classified, with what every attempt had in common. */
export type ToolCallOutcome = (
  | { kind: "tool_use"; input: unknown; usage: TokenUsage | null }
  | { kind: "refusal"; detail: string; usage: TokenUsage | null }
  | { kind: "error"; detail: string; status?: number; retryAfter?: string | null }
  | { kind: "timeout"; detail: string }
  | { kind: "malformed"; detail: string }
) & {
  /** The `request-id` header of the last answer (successes and API errors carry one). */
  requestId: string | null;
  /** How many requests were sent (retries of 429 / 529 included). */
  attempts: number;
};

/** Retries of 429 (rate_limit_error) and 529 (overloaded_error): bounded in attempts and in total wait. */
export interface RetryPolicy {
  maxAttempts: number;
  maxTotalWaitMs: number;
}
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, maxTotalWaitMs: 20_000 };

/** Capabilities the call needs (passed in so tests drive time and sleep). */
export interface CallDeps {
  fetch: EgressFetch;
  timeoutMs: number;
  retry?: RetryPolicy;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

// The SDK's `Message`, the fields we read; other fields (container, diagnostics, stop_details, …) are tolerated.
const Count = v.nullish(v.number(), null);
const UsageSchema = v.looseObject({
  input_tokens: Count,
  output_tokens: Count,
  cache_creation_input_tokens: Count,
  cache_read_input_tokens: Count,
  service_tier: v.nullish(v.string(), null),
});
const MessageResponse = v.looseObject({
  id: v.string(),
  type: v.literal("message"),
  role: v.literal("assistant"),
  content: v.array(v.looseObject({ type: v.string() })),
  stop_reason: v.nullable(v.string()),
  usage: v.optional(UsageSchema),
});
// Compile-time: every message the SDK types can come back is one this schema reads.
const _messageReadable = (m: Message): v.InferInput<typeof MessageResponse> => ({
  ...m,
  content: m.content.map((block) => ({ ...block })),
  usage: { ...m.usage },
});
void _messageReadable;

const ErrorResponse = v.object({
  type: v.literal("error"),
  error: v.object({ type: v.string(), message: v.string() }),
});

const RETRYABLE = new Set([429, 529]);
const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 8_000;

/** Send one forced-tool request (retrying 429 / 529 within the policy) and classify the answer. */
export async function callForcedTool(
  deps: CallDeps,
  apiKey: string | undefined,
  body: ForcedToolRequest,
): Promise<ToolCallOutcome> {
  if (!apiKey)
    return { kind: "error", detail: "ANTHROPIC_API_KEY is not configured", requestId: null, attempts: 0 };
  const retry = deps.retry ?? DEFAULT_RETRY;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = deps.now ?? Date.now;
  let waited = 0;
  for (let attempt = 1; ; attempt++) {
    const answer = await attemptOnce(deps, apiKey, body);
    const outcome = { ...answer.outcome, attempts: attempt } as ToolCallOutcome;
    if (outcome.kind !== "error" || !RETRYABLE.has(outcome.status ?? 0) || !answer.headers) return outcome;
    if (answer.headers.get("x-should-retry") === "false") return outcome;
    if (attempt >= retry.maxAttempts)
      return { ...outcome, detail: `${outcome.detail}; gave up after ${attempt} attempts` };
    const wait = retryDelayMs(answer.headers, attempt, now());
    if (waited + wait > retry.maxTotalWaitMs)
      return {
        ...outcome,
        detail: `${outcome.detail}; waiting ${Math.ceil(wait / 1000)} s more would pass the retry budget of ${retry.maxTotalWaitMs / 1000} s (attempt ${attempt})`,
      };
    waited += wait;
    await sleep(wait);
  }
}

/**
 * How long to wait before the next attempt: `retry-after-ms`, else `retry-after` (seconds or an HTTP date) as the
 * API gives them, else exponential backoff from 0.5 s (the SDK's order, without its jitter).
 */
export function retryDelayMs(headers: Headers, attempt: number, nowMs: number): number {
  const ms = Number.parseFloat(headers.get("retry-after-ms") ?? "");
  if (Number.isFinite(ms) && ms >= 0) return Math.ceil(ms);
  const raw = headers.get("retry-after");
  if (raw) {
    const seconds = Number.parseFloat(raw);
    if (/^\s*\d+(\.\d+)?\s*$/.test(raw) && Number.isFinite(seconds)) return Math.ceil(seconds * 1000);
    const date = Date.parse(raw);
    if (Number.isFinite(date)) return Math.max(0, date - nowMs);
  }
  return Math.min(BACKOFF_START_MS * 2 ** (attempt - 1), BACKOFF_MAX_MS);
}

type Classified = ToolCallOutcome extends infer O ? (O extends unknown ? Omit<O, "attempts"> : never) : never;

async function attemptOnce(
  deps: CallDeps,
  apiKey: string,
  body: ForcedToolRequest,
): Promise<{ outcome: Classified; headers: Headers | null }> {
  const timeout = (): { outcome: Classified; headers: null } => ({
    outcome: { kind: "timeout", detail: `no answer within ${deps.timeoutMs} ms`, requestId: null },
    headers: null,
  });
  let response: Response;
  try {
    response = await deps.fetch(MESSAGES_URL, {
      method: "POST",
      headers: {
        accept: "application/json",
        // As the SDK sends it (`apiKeyAuth` in client.ts: `Authorization: Bearer <key>`).
        authorization: `Bearer ${apiKey}`,
        "anthropic-version": ANTHROPIC_VERSION,
        "content-type": "application/json",
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(deps.timeoutMs),
    });
  } catch (error) {
    const name = (error as Error)?.name;
    if (name === "TimeoutError" || name === "AbortError") return timeout();
    return {
      outcome: { kind: "error", detail: `request failed: ${name ?? "error"}`, requestId: null },
      headers: null,
    };
  }
  const requestId = response.headers.get("request-id");
  let json: unknown;
  try {
    json = await response.json();
  } catch (error) {
    const name = (error as Error)?.name;
    if (name === "TimeoutError" || name === "AbortError") return timeout();
    return {
      outcome: response.ok
        ? { kind: "malformed", detail: "response is not JSON", requestId }
        : { kind: "error", status: response.status, detail: `HTTP ${response.status}`, requestId },
      headers: response.headers,
    };
  }
  if (!response.ok) {
    const parsed = v.safeParse(ErrorResponse, json);
    const type = parsed.success ? parsed.output.error.type : "unknown_error";
    const message = parsed.success ? `: ${parsed.output.error.message.slice(0, 200)}` : "";
    return {
      outcome: {
        kind: "error",
        status: response.status,
        detail: `HTTP ${response.status} ${type}${message}`,
        retryAfter: response.headers.get("retry-after"),
        requestId,
      },
      headers: response.headers,
    };
  }
  const parsed = v.safeParse(MessageResponse, json);
  if (!parsed.success)
    return {
      outcome: { kind: "malformed", detail: "response is not a Messages API message", requestId },
      headers: response.headers,
    };
  const message = parsed.output;
  const usage: TokenUsage | null = message.usage
    ? {
        input_tokens: message.usage.input_tokens,
        output_tokens: message.usage.output_tokens,
        cache_creation_input_tokens: message.usage.cache_creation_input_tokens,
        cache_read_input_tokens: message.usage.cache_read_input_tokens,
        service_tier: message.usage.service_tier,
      }
    : null;
  const done = (outcome: Classified) => ({ outcome, headers: response.headers });
  if (message.stop_reason === "refusal")
    return done({ kind: "refusal", detail: "the model refused", usage, requestId });
  if (message.stop_reason !== "tool_use")
    return done({
      kind: "malformed",
      detail: `stop_reason ${message.stop_reason ?? "null"}, expected tool_use`,
      requestId,
    });
  const uses = message.content.filter(
    (block) => block.type === "tool_use" && block.name === body.tool_choice.name,
  );
  if (uses.length !== 1)
    return done({
      kind: "malformed",
      detail: `expected one ${body.tool_choice.name} call, got ${uses.length}`,
      requestId,
    });
  return done({ kind: "tool_use", input: uses[0]!.input, usage, requestId });
}
