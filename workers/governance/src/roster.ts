// Approver rosters as plain rules: who may approve an action, and what a roster must look like. Nothing here
// touches storage; the rows live in D1 (rosters.ts) and the first roster of a deployment comes from config.
import { ApprovalAction, ROSTER_MAX_APPROVERS } from "@paulp/contracts";
import * as v from "valibot";
import { canonicalEmail, type PersonRef, personKey } from "./identity";

/** People a roster needs at least: the desk's threshold (else nobody could ever approve its action). */
export const ROSTER_MIN_PEOPLE = 2;

/**
 * `APPROVER_ROSTER`: a JSON object (wrangler vars may hold one; a string is parsed) mapping an action, or `*`
 * for every action not named, to email addresses. Only the first roster of each action is read from it.
 */
const RosterConfig = v.record(
  v.union([ApprovalAction, v.literal("*")]),
  v.pipe(v.array(v.pipe(v.string(), v.email(), v.maxLength(320))), v.maxLength(ROSTER_MAX_APPROVERS)),
);

type Checked = { ok: true; approvers: string[] } | { ok: false; message: string };

/**
 * A roster as it is stored: canonical addresses, each once, sorted. Refused when it names fewer than two
 * different people (two aliases of one person are one person), so no roster can lock its action out.
 */
export function checkRoster(emails: readonly string[]): Checked {
  const approvers = [...new Set(emails.map(canonicalEmail))].sort();
  const people = new Set(approvers.map(personKey)).size;
  if (people < ROSTER_MIN_PEOPLE)
    return {
      ok: false,
      message: `a roster needs at least ${ROSTER_MIN_PEOPLE} different people (it names ${people})`,
    };
  return { ok: true, approvers };
}

/** The first roster of `action` from `APPROVER_ROSTER`; missing, empty or malformed config refuses (fail closed). */
export function configuredRoster(raw: unknown, action: ApprovalAction): Checked {
  if (raw === undefined || raw === null || raw === "")
    return { ok: false, message: "APPROVER_ROSTER is not set" };
  let value = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      return { ok: false, message: "APPROVER_ROSTER is not JSON" };
    }
  }
  const parsed = v.safeParse(RosterConfig, value);
  if (!parsed.success)
    return {
      ok: false,
      message: `APPROVER_ROSTER is malformed: ${v.summarize(parsed.issues)}`.slice(0, 300),
    };
  const listed = parsed.output[action] ?? parsed.output["*"];
  if (!listed || listed.length === 0)
    return { ok: false, message: `APPROVER_ROSTER names no approvers for ${action}` };
  const checked = checkRoster(listed);
  return checked.ok ? checked : { ok: false, message: `APPROVER_ROSTER for ${action}: ${checked.message}` };
}

/** On the roster: the person's address, in canonical form, is listed exactly (an alias of a listed one is not). */
export function onRoster(approvers: readonly string[], person: PersonRef): boolean {
  return approvers.includes(canonicalEmail(person.email));
}

/** How many different people on the roster could approve a request by `requester` (never the requester). */
export function eligibleApprovers(approvers: readonly string[], requester: PersonRef): number {
  const self = personKey(requester.email);
  return new Set(approvers.map(personKey).filter((key) => key !== self)).size;
}
