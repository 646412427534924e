// Minimal Anthropic Messages API client for one forced tool call. Every way the call can go wrong comes
// back as a value (`error`, `timeout`, `refusal`, `malformed`), never as a throw, so the caller can turn
// it into an `uncertain` grade.
import type { EgressFetch } from "@paulp/kit";
import * as v from "valibot";

/** The production endpoint; in dev and tests the egress wrapper hands it to the venue simulator. */
export const MESSAGES_URL = "https://api.anthropic.com/v1/messages";
/** The API version header every request carries. */
export const ANTHROPIC_VERSION = "2023-06-01";

/** A Messages API request body with one forced tool. */
export interface ForcedToolRequest {
  model: string;
  max_tokens: number;
  temperature: number;
  system: string;
  messages: { role: "user"; content: string }[];
  tools: { name: string; description: string; input_schema: Record<string, unknown> }[];
  tool_choice: { type: "tool"; name: string };
}

/** What came back, already classified. */
export type ToolCallOutcome =
  | { kind: "tool_use"; input: unknown; requestId: string | null }
  | { kind: "refusal"; detail: string }
  | { kind: "error"; detail: string; status?: number; retryAfter?: string | null }
  | { kind: "timeout"; detail: string }
  | { kind: "malformed"; detail: string };

const MessageResponse = v.object({
  id: v.string(),
  type: v.literal("message"),
  content: v.array(v.looseObject({ type: v.string() })),
  stop_reason: v.nullable(v.string()),
});

const ErrorResponse = v.object({
  type: v.literal("error"),
  error: v.object({ type: v.string(), message: v.string() }),
});

/** Send one forced-tool request and classify the answer. */
export async function callForcedTool(
  fetchFn: EgressFetch,
  apiKey: string | undefined,
  body: ForcedToolRequest,
  timeoutMs: number,
): Promise<ToolCallOutcome> {
  if (!apiKey) return { kind: "error", detail: "ANTHROPIC_API_KEY is not configured" };
  let response: Response;
  try {
    response = await fetchFn(MESSAGES_URL, {
      method: "POST",
      headers: {
        "x-api-key": apiKey,
        "anthropic-version": ANTHROPIC_VERSION,
        "content-type": "application/json",
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const name = (error as Error)?.name;
    if (name === "TimeoutError" || name === "AbortError")
      return { kind: "timeout", detail: `no answer within ${timeoutMs} ms` };
    return { kind: "error", detail: `request failed: ${name ?? "error"}` };
  }
  let json: unknown;
  try {
    json = await response.json();
  } catch (error) {
    const name = (error as Error)?.name;
    if (name === "TimeoutError" || name === "AbortError")
      return { kind: "timeout", detail: `no answer within ${timeoutMs} ms` };
    return response.ok
      ? { kind: "malformed", detail: "response is not JSON" }
      : { kind: "error", status: response.status, detail: `HTTP ${response.status}` };
  }
  if (!response.ok) {
    const parsed = v.safeParse(ErrorResponse, json);
    const type = parsed.success ? parsed.output.error.type : "unknown_error";
    return {
      kind: "error",
      status: response.status,
      detail: `HTTP ${response.status} ${type}`,
      retryAfter: response.headers.get("retry-after"),
    };
  }
  const parsed = v.safeParse(MessageResponse, json);
  if (!parsed.success) return { kind: "malformed", detail: "response is not a Messages API message" };
  const message = parsed.output;
  if (message.stop_reason === "refusal") return { kind: "refusal", detail: "the model refused" };
  if (message.stop_reason !== "tool_use")
    return { kind: "malformed", detail: `stop_reason ${message.stop_reason ?? "null"}, expected tool_use` };
  const uses = message.content.filter(
    (block) => block.type === "tool_use" && block.name === body.tool_choice.name,
  );
  if (uses.length !== 1)
    return { kind: "malformed", detail: `expected one ${body.tool_choice.name} call, got ${uses.length}` };
  return { kind: "tool_use", input: uses[0]!.input, requestId: response.headers.get("request-id") };
}
