import * as v from "valibot";
import { NonEmptyText } from "./fields";

/** The Cloudflare Access header with the signed JWT; the only Access header that can authenticate. */
export const ACCESS_JWT_HEADER = "cf-access-jwt-assertion";
/** Set by Access at the edge; never trusted alone, must match the verified JWT's email. */
export const ACCESS_EMAIL_HEADER = "cf-access-authenticated-user-email";
/** Request id header, minted by the gateway and forwarded on internal calls. */
export const REQUEST_ID_HEADER = "x-request-id";

/**
 * A value a config file ships until the operators set their own: a `REPLACE_WITH_…` marker, or a name under a
 * domain reserved for examples and tests (RFC 2606/6761: `.example`, `.invalid`, `.test`, `.localhost`,
 * `example.com|net|org`), which can never be a real hostname or mailbox. The pre-live checks refuse these.
 */
export function isPlaceholder(value: string): boolean {
  if (/REPLACE[_-]?WITH|CHANGE[_-]?ME|\bTODO\b|\bTBD\b/i.test(value)) return true;
  const host = (value.includes("@") ? value.slice(value.lastIndexOf("@") + 1) : value)
    .toLowerCase()
    .replace(/[/:].*$/, "");
  return /(^|\.)(example|invalid|test|localhost)$/.test(host) || /(^|\.)example\.(com|net|org)$/.test(host);
}

/** One person to call in an incident (the security guide's "incident response contacts"). */
export const IncidentContact = v.strictObject({
  /** e.g. "primary on-call", "secondary on-call", "security", "head of trading". */
  role: NonEmptyText(80),
  name: NonEmptyText(120),
  email: v.pipe(v.string(), v.maxLength(254), v.email()),
  /** E.164, e.g. "+44 20 7946 0000". */
  phone: v.optional(v.pipe(v.string(), v.regex(/^\+[0-9][0-9 ()-]{5,24}$/, "must be an E.164 number"))),
});
/** One person to call in an incident. */
export type IncidentContact = v.InferOutput<typeof IncidentContact>;

/** The gateway's INCIDENT_CONTACTS var: at least two people, so one absence never leaves nobody to call. */
export const IncidentContacts = v.pipe(v.array(IncidentContact), v.minLength(2), v.maxLength(20));

/** Why a configured INCIDENT_CONTACTS is not acceptable before going live; null when it is. Names no one. */
export function incidentContactsProblem(raw: unknown): string | null {
  if (raw === undefined || raw === null || raw === "") return "INCIDENT_CONTACTS is not set";
  let value = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      return "INCIDENT_CONTACTS is not JSON";
    }
  }
  const parsed = v.safeParse(IncidentContacts, value);
  const placeholders = Array.isArray(value)
    ? value.filter((c) => Object.values(c ?? {}).some((f) => typeof f === "string" && isPlaceholder(f)))
        .length
    : 0;
  if (placeholders > 0) return `INCIDENT_CONTACTS still holds ${placeholders} placeholder contact(s)`;
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const at = v.getDotPath(issue);
    return `INCIDENT_CONTACTS is invalid${at ? ` at ${at}` : ""}: ${issue.message}`;
  }
  return null;
}
