import { DOMAIN, domainHash, GENESIS_HASH } from "./hash";
import { type AuditEntry, type ChainPoint, canonicalJson, type JsonValue } from "./types";

/** The start of every chain. */
export const GENESIS_POINT: ChainPoint = { seq: 0, hash: GENESIS_HASH };

/** What an entry's hash covers: every field but `hash`. */
export type UnsignedEntry = Omit<AuditEntry, "hash">;

/** The exact bytes hashed for an entry: domain, newline, RFC 8785 JSON of every field but `hash`. */
export function entryPreimage(entry: UnsignedEntry): string {
  const { seq, ts, type, service, actor, payload, prevHash } = entry;
  return `${DOMAIN.entry}\n${canonicalJson({ seq, ts, type, service, actor, payload, prevHash })}`;
}

/** The hash of an entry. */
export function hashEntry(entry: UnsignedEntry): string {
  const { seq, ts, type, service, actor, payload, prevHash } = entry;
  return domainHash(DOMAIN.entry, canonicalJson({ seq, ts, type, service, actor, payload, prevHash }));
}

/** The fields of an event, as the sequencer receives them. */
export interface EventFields {
  type: string;
  service: AuditEntry["service"];
  actor: AuditEntry["actor"];
  payload: JsonValue;
}

/** The next entry after `head`. Throws CanonicalJsonError when the event is not representable. */
export function buildEntry(head: ChainPoint, event: EventFields, ts: string): AuditEntry {
  const actor =
    event.actor.email === undefined
      ? { method: event.actor.method, subject: event.actor.subject }
      : { method: event.actor.method, subject: event.actor.subject, email: event.actor.email };
  const unsigned: UnsignedEntry = {
    seq: head.seq + 1,
    ts,
    type: event.type,
    service: event.service,
    actor,
    payload: event.payload,
    prevHash: head.hash,
  };
  return { ...unsigned, hash: hashEntry(unsigned) };
}

/** The stored form of an entry (DO row, R2 line): its canonical JSON. */
export function entryLine(entry: AuditEntry): string {
  return canonicalJson(entry);
}
