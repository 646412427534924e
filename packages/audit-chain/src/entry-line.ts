// One stored entry line read back into an entry, or why it is not one: the slow path of verification, run only
// to say what is wrong with a line whose hash did not check.
import * as v from "valibot";
import type { AuditEntry, JsonValue } from "./types";

const HEX64 = /^[0-9a-f]{64}$/;
const SERVICES = ["gateway", "ingestion", "risk", "execution", "audit", "governance", "monitor"] as const;
const ENTRY_KEYS = "actor,hash,payload,prevHash,seq,service,ts,type";
const EXPORTED_ENTRY_KEYS = "actor,hash,kind,payload,prevHash,seq,service,ts,type";

/** The shape of a stored entry, field by field in the order they are checked; each message says what is wrong. */
const actorMalformed = "actor malformed";
const EntryShape = v.object({
  seq: v.pipe(
    v.number("seq is not a positive integer"),
    v.safeInteger("seq is not a positive integer"),
    v.minValue(1, "seq is not a positive integer"),
  ),
  ts: v.string("ts/type malformed"),
  type: v.string("ts/type malformed"),
  service: v.picklist(SERVICES, "service malformed"),
  actor: v.strictObject(
    {
      method: v.picklist(["token", "access", "system"], actorMalformed),
      subject: v.string(actorMalformed),
      email: v.optional(v.string(actorMalformed)),
    },
    actorMalformed,
  ),
  prevHash: v.pipe(v.string("prevHash malformed"), v.regex(HEX64, "prevHash malformed")),
  hash: v.pipe(v.string("hash malformed"), v.regex(HEX64, "hash malformed")),
  // Any JSON: the hash over the line's own bytes is what binds it.
  payload: v.custom<JsonValue>(() => true),
});

/**
 * Parse a stored line into an entry, or say why it is not one. `withKind` lines (exports) also carry
 * `"kind":"entry"`. Only the shape is checked here; the hash check over the line's own bytes does the rest.
 */
export function parseEntryLine(line: string, withKind = false): AuditEntry | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return "not valid JSON";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not an object";
  if (Object.keys(value).join(",") !== (withKind ? EXPORTED_ENTRY_KEYS : ENTRY_KEYS))
    return "not in canonical form (fields)";
  if (withKind && (value as { kind?: unknown }).kind !== "entry") return "not an entry line";
  const entry = v.safeParse(EntryShape, value, { abortEarly: true });
  return entry.success ? entry.output : entry.issues[0].message;
}
