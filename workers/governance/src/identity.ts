// Who a person is, for the two-person rules. Two forms of an email address, for two different questions:
//
// - `canonicalEmail`: the address itself, however it was typed (Unicode compatibility form, case folded,
//   invisible characters and a trailing dot in the domain removed). Roster membership is an exact match on it:
//   being on a roster is a grant, so an alias of a listed address is not listed.
// - `personKey`: the mailbox the address delivers to, so every alias of one person is one person. On top of the
//   canonical form it removes a plus tag (RFC 5233 subaddressing: `bob+x@` is `bob@`), and, for Gmail only,
//   the dots of the local part (Google documents that they are ignored there; elsewhere `j.smith@` and
//   `jsmith@` may be two people). Merging more than needed here can only refuse an approval, never grant one.
//
// Other conventions (a `-` tag separator, Fastmail's `x@bob.fastmail.com`) are not folded: a hyphen is part of
// many real names (`anne-marie@`), and an alias of that kind must be on the roster to approve at all.

// Characters Unicode says render as nothing (zero-width space, soft hyphen, joiners…): NFKC keeps them.
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/gu;
const GMAIL_DOMAINS = new Set(["gmail.com", "googlemail.com"]);

/**
 * The canonical form of an address: NFKC, then case folded (upper- then lower-casing, which folds `ß` to `ss`
 * and `ſ` to `s` as Unicode's full case folding does), NFKC again, invisible characters removed, trimmed, and a
 * trailing dot removed from the domain. Approximates Unicode's NFKC_Casefold.
 */
export function canonicalEmail(email: string): string {
  const folded = email
    .normalize("NFKC")
    .toUpperCase()
    .toLowerCase()
    .normalize("NFKC")
    .replace(INVISIBLE, "")
    .trim();
  const at = folded.lastIndexOf("@");
  if (at < 0) return folded;
  return `${folded.slice(0, at)}@${folded.slice(at + 1).replace(/\.+$/, "")}`;
}

/** The person an address belongs to: its canonical form without a plus tag (and, at Gmail, without dots). */
export function personKey(email: string): string {
  const canonical = canonicalEmail(email);
  const at = canonical.lastIndexOf("@");
  if (at < 0) return canonical;
  let local = canonical.slice(0, at);
  let domain = canonical.slice(at + 1);
  const plus = local.indexOf("+");
  if (plus >= 0) local = local.slice(0, plus);
  if (GMAIL_DOMAINS.has(domain)) {
    local = local.replaceAll(".", "");
    domain = "gmail.com";
  }
  return `${local}@${domain}`;
}

/** A verified person as the desk records them: the Access subject (JWT `sub`) and the verified email. */
export interface PersonRef {
  subject: string;
  email: string;
}

/**
 * Two records are the same person when the Access subject matches or the addresses belong to the same person
 * (`personKey`). Either is enough: one login under two addresses, or two logins to one mailbox, is one person.
 */
export function samePerson(a: PersonRef, b: PersonRef): boolean {
  return a.subject === b.subject || personKey(a.email) === personKey(b.email);
}
