import { isPerson, type Principal } from "@paulp/contracts";

/** How a principal is named in stored rows: a person by verified email, others by method and subject. */
export function actorLabel(p: Principal): string {
  return isPerson(p) ? (p.email ?? p.subject).toLowerCase() : `${p.method}:${p.subject}`;
}
