// Which Claude models may still be called, from the official SDK (`@anthropic-ai/sdk`), never from our own notes:
// - the SDK's deprecation list, `DEPRECATED_MODELS` in `internal/data/deprecated-models.ts`: model id → end-of-life
//   date ("November 30th, 2026"), which the SDK itself warns with on every `messages.create`. The package does not
//   export its `internal/` folder, so the file is imported by path; it is bundled, and a dependency update refreshes it;
// - the SDK's `Model` union (`resources/messages/messages.ts`): the models the SDK knows. A model past its end of life
//   is removed from both (SDK 1.15.0: "remove retired Claude Sonnet 4.5 models"), so a model the union no longer
//   names counts as retired. The union is a type, so `SDK_MODELS` below spells it out and the compiler checks that it
//   is exactly the union, both ways: updating the SDK without updating the list fails the typecheck.
import type { Model } from "@anthropic-ai/sdk/resources/messages";
import { DEPRECATED_MODELS } from "../node_modules/@anthropic-ai/sdk/internal/data/deprecated-models.mjs";

/** The model ids the SDK's `Model` union names (its open `string & {}` member left out). */
export const SDK_MODELS = [
  "claude-fable-5-2",
  "claude-mythos-5-2",
  "claude-haiku-5-5",
  "claude-sonnet-5-5",
  "claude-fable-5-1",
  "claude-opus-5-5",
  "claude-mythos-5-1",
  "claude-sonnet-5",
  "claude-fable-5",
  "claude-mythos-5",
  "claude-opus-5",
  "claude-opus-4-8",
  "claude-opus-4-7",
  "claude-mythos-preview",
  "claude-opus-4-6",
  "claude-sonnet-4-6",
  "claude-haiku-4-5",
  "claude-haiku-4-5-20251001",
  "claude-opus-4-5",
  "claude-opus-4-5-20251101",
] as const;

/** The literal members of the SDK's `Model` union. */
type SdkModel = Model extends infer M ? (M extends string ? (string extends M ? never : M) : never) : never;
type Listed = (typeof SDK_MODELS)[number];
// Both directions: a model the SDK adds or removes and this list does not fails here (`true` will not be assignable).
const listCoversSdk: [Exclude<SdkModel, Listed>] extends [never] ? true : Exclude<SdkModel, Listed> = true;
const sdkCoversList: [Exclude<Listed, SdkModel>] extends [never] ? true : Exclude<Listed, SdkModel> = true;
void listCoversSdk;
void sdkCoversList;

/** The SDK's deprecation list as it ships (model id → the SDK's wording of the end-of-life date). */
export const SDK_DEPRECATED_MODELS: Readonly<Record<string, string>> = DEPRECATED_MODELS;

/** Where a model stands, by the SDK's own data, at a given instant. */
export type ModelLifecycle =
  | { state: "active"; model: string }
  | { state: "deprecated"; model: string; endOfLife: string; daysLeft: number }
  | { state: "retired"; model: string; reason: string; endOfLife: string | null };

const MONTHS = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];

/** "November 30th, 2026" (the SDK's wording) → "2026-11-30"; null when it does not read as a date. */
export function parseSdkDate(text: string): string | null {
  const m = /^\s*([A-Za-z]+)\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\s*$/.exec(text);
  if (!m) return null;
  const month = MONTHS.indexOf(m[1]!.toLowerCase());
  const day = Number(m[2]);
  const year = Number(m[3]);
  if (month < 0) return null;
  const at = new Date(Date.UTC(year, month, day));
  if (at.getUTCMonth() !== month || at.getUTCDate() !== day) return null;
  return at.toISOString().slice(0, 10);
}

const DAY_MS = 86_400_000;

/**
 * The lifecycle of `model` at `nowMs`. End of life is the first instant (UTC) of the listed day: from then on the
 * API refuses the model. A deprecated model whose date does not parse is treated as retired (fail closed), and so
 * is a model the SDK does not name at all.
 */
export function modelLifecycle(
  model: string,
  nowMs: number,
  data: { known: readonly string[]; deprecated: Readonly<Record<string, string>> } = {
    known: SDK_MODELS,
    deprecated: SDK_DEPRECATED_MODELS,
  },
): ModelLifecycle {
  const listed = Object.hasOwn(data.deprecated, model) ? data.deprecated[model]! : null;
  if (listed !== null) {
    const endOfLife = parseSdkDate(listed);
    if (endOfLife === null)
      return {
        state: "retired",
        model,
        endOfLife: null,
        reason: `the SDK lists ${model} as deprecated with an end-of-life date that does not read as a date ("${listed}")`,
      };
    const end = Date.parse(`${endOfLife}T00:00:00.000Z`);
    if (nowMs >= end)
      return {
        state: "retired",
        model,
        endOfLife,
        reason: `${model} reached its end of life on ${endOfLife} (the SDK's deprecation list)`,
      };
    return { state: "deprecated", model, endOfLife, daysLeft: Math.ceil((end - nowMs) / DAY_MS) };
  }
  if (!data.known.includes(model))
    return {
      state: "retired",
      model,
      endOfLife: null,
      reason: `${model} is not a model the Anthropic SDK names (retired models are removed from it)`,
    };
  return { state: "active", model };
}
