import { AuditEventInput, ErrorCode, err, ok, type Result } from "@paulp/contracts";
import { canonicalJson, parseInput } from "@paulp/kit";
import * as v from "valibot";

/** Largest payload accepted, in bytes of canonical JSON: the chain records facts, not blobs. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
/** Most events one `appendMany` may carry (they are written in one transaction). */
export const MAX_BATCH = 500;

const encoder = new TextEncoder();

/** Validate one event: shape (type pattern, service, actor principal) and a payload RFC 8785 can represent. */
export function validateEvent(value: unknown): Result<AuditEventInput> {
  const parsed = parseInput(AuditEventInput, value);
  if (!parsed.ok) return parsed;
  let canonical: string;
  try {
    canonical = canonicalJson(parsed.value.payload);
  } catch (error) {
    return err(ErrorCode.validationFailed, `payload: ${(error as Error).message}`);
  }
  if (encoder.encode(canonical).length > MAX_PAYLOAD_BYTES) {
    return err(ErrorCode.validationFailed, `payload: exceeds ${MAX_PAYLOAD_BYTES} bytes of canonical JSON`);
  }
  return parsed;
}

/** Validate a batch of events; the first bad one (by index) fails the whole batch. */
export function validateEvents(value: unknown): Result<AuditEventInput[]> {
  const list = v.safeParse(v.pipe(v.array(v.unknown()), v.minLength(1), v.maxLength(MAX_BATCH)), value);
  if (!list.success)
    return err(ErrorCode.validationFailed, `events: must be an array of 1..${MAX_BATCH} events`);
  const events: AuditEventInput[] = [];
  for (const [i, item] of list.output.entries()) {
    const one = validateEvent(item);
    if (!one.ok) return err(one.error.code, `events[${i}].${one.error.message}`, one.error.details);
    events.push(one.value);
  }
  return ok(events);
}
