import * as v from "valibot";
import { MAX_JSON_DEPTH } from "./common";

/**
 * The specification: the system does not store passwords, payment card numbers or personal identification
 * numbers. Free text people type (names, notes, reasons, params) goes to D1 and into the hash-chained audit,
 * where it can never be removed, so such data is refused where the text enters: the valibot schemas below,
 * which the gateway and every RPC boundary parse with. Each detector is narrow, so ordinary text (tickers,
 * hex and decimal ids, prices, dates) passes:
 * - a payment card number: 13–19 digits standing alone (digit groups split by single spaces or hyphens
 *   allowed), with a card network's leading digits (2221–2720, 3, 4, 5, 6) and a valid Luhn check digit;
 * - a national identification number: a US SSN written 3-2-4 (the ranges the SSA never issues excluded), a
 *   UK National Insurance number, a Canadian SIN written 3-3-3 with a valid Luhn digit;
 * - a password or secret assignment (`password=…`, `passwd: …`, `pin=…`, `api_key=…`, `secret: …`),
 *   credentials in a URL (`https://user:pass@host`);
 * - a secret: a PEM private key, a JWT, a bearer token, or an API key of a well-known shape (Anthropic,
 *   OpenAI, AWS, GitHub, GitLab, Slack, Stripe, Google).
 */
export type SensitiveKind = "payment_card" | "national_id" | "password" | "secret";

/** What a detector found, for the error message (the matched text itself is never repeated). */
const KIND_LABEL: Record<SensitiveKind, string> = {
  payment_card: "a payment card number",
  national_id: "a national identification number",
  password: "a password or credential assignment",
  secret: "a private key, token or API key",
};

/** True when the digits pass the Luhn (mod 10) check. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** The leading digits of the card networks (Mastercard 2221–2720; Amex, Diners, JCB 3; Visa 4; 5; 6). */
function cardPrefix(digits: string): boolean {
  const first = digits[0]!;
  if (first >= "3" && first <= "6") return true;
  const four = Number(digits.slice(0, 4));
  return four >= 2221 && four <= 2720;
}

// Runs of digit groups standing alone: not glued to letters, digits or `_` (so hex and base64 ids, and the
// digits inside tickers, are not runs), groups split by one space or hyphen.
const DIGIT_RUN = /(?<![\p{L}\p{N}_])\d+(?:[ -]\d+)*(?![\p{L}\p{N}_])/gu;

function hasCardNumber(text: string): boolean {
  for (const match of text.matchAll(DIGIT_RUN)) {
    const groups = match[0].split(/[ -]/);
    // Any consecutive groups may be the card (e.g. "order 12 4111 1111 1111 1111").
    for (let i = 0; i < groups.length; i++) {
      let digits = "";
      for (let j = i; j < groups.length && digits.length < 19; j++) {
        digits += groups[j];
        if (digits.length >= 13 && digits.length <= 19 && cardPrefix(digits) && luhnValid(digits))
          return true;
      }
    }
  }
  return false;
}

const US_SSN = /(?<![\p{L}\p{N}])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\p{L}\p{N}])/u;
const SSN_LABELLED = /\b(?:ssn|social security(?: number| no\.?)?)\W{0,3}\d{9}\b/i;
const UK_NINO = /\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b/;
const CA_SIN = /(?<![\p{L}\p{N}])([1-79]\d{2})([- ])(\d{3})\2(\d{3})(?![\p{L}\p{N}]|[- ]\d)/u;

function hasNationalId(text: string): boolean {
  if (US_SSN.test(text) || SSN_LABELLED.test(text) || UK_NINO.test(text)) return true;
  const sin = CA_SIN.exec(text);
  return sin !== null && luhnValid(`${sin[1]}${sin[3]}${sin[4]}`);
}

const PASSWORD_ASSIGNMENTS = [
  /\b(?:password|passwd|passphrase|pwd)\s*[:=]\s*["']?[^\s"']{3,}/i,
  /\bpin\s*[:=]\s*["']?\d{4,12}\b/i,
  // A secret's value is one long token ("secret: the spread" is prose, not a secret).
  /\b(?:secret|client[_-]?secret|api[_-]?key|access[_-]?token|private[_-]?key)\s*[:=]\s*["']?[A-Za-z0-9+/_.=-]{8,}/i,
];
const URL_CREDENTIALS = /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:[^\s/@]+@/i;

const SECRET_SHAPES = [
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/,
  /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/, // a JWT
  /\bBearer\s+[A-Za-z0-9._~+/-]{20,}/,
  /\bsk-ant-[A-Za-z0-9_-]{16,}/, // Anthropic
  /\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}/, // OpenAI
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/, // AWS access key id
  /\bgh[pousr]_[A-Za-z0-9]{30,}/, // GitHub
  /\bgithub_pat_[A-Za-z0-9_]{20,}/,
  /\bglpat-[A-Za-z0-9_-]{20,}/, // GitLab
  /\bxox[abprs]-[A-Za-z0-9-]{10,}/, // Slack
  /\b[rs]k_live_[A-Za-z0-9]{16,}/, // Stripe
  /\bAIza[0-9A-Za-z_-]{35}\b/, // Google
];

/** The kind of data the text must not carry into storage, or null when it carries none. */
export function sensitiveKindIn(text: string): SensitiveKind | null {
  if (hasCardNumber(text)) return "payment_card";
  if (hasNationalId(text)) return "national_id";
  if (PASSWORD_ASSIGNMENTS.some((p) => p.test(text)) || URL_CREDENTIALS.test(text)) return "password";
  if (SECRET_SHAPES.some((shape) => shape.test(text))) return "secret";
  return null;
}

/** Names of JSON members whose value is a credential whatever it says (`{ "password": "…" }`). */
const CREDENTIAL_KEY =
  /^(?:password|passwd|passphrase|pwd|pin|secret|client[_-]?secret|api[_-]?key|access[_-]?token|private[_-]?key|ssn|card[_-]?number)$/i;

/**
 * Where a JSON value carries sensitive data (a member name, a string, or an integer written as a number): the
 * member names and indexes leading there, and the kind; null when nowhere. Walked without recursion.
 */
export function sensitiveDataInJson(
  value: unknown,
): { keys: (string | number)[]; kind: SensitiveKind } | null {
  const stack: [unknown, (string | number)[]][] = [[value, []]];
  while (stack.length > 0) {
    const [node, keys] = stack.pop()!;
    if (typeof node === "string") {
      const kind = sensitiveKindIn(node);
      if (kind) return { keys, kind };
    } else if (typeof node === "number" && Number.isInteger(node)) {
      if (hasCardNumber(String(Math.abs(node)))) return { keys, kind: "payment_card" };
    } else if (node !== null && typeof node === "object" && keys.length < MAX_JSON_DEPTH) {
      for (const [key, child] of Object.entries(node)) {
        const at = [...keys, Array.isArray(node) ? Number(key) : key];
        const keyKind = sensitiveKindIn(key);
        if (keyKind) return { keys: at, kind: keyKind };
        if (CREDENTIAL_KEY.test(key) && child !== null && child !== "" && typeof child !== "object") {
          return { keys: at, kind: /card/i.test(key) ? "payment_card" : "password" };
        }
        stack.push([child, at]);
      }
    }
  }
  return null;
}

/** The refusal message for a kind of sensitive data (never echoing the data). */
export function sensitiveDataMessage(kind: SensitiveKind): string {
  return `looks like ${KIND_LABEL[kind]}: this system does not store passwords, card numbers, personal identification numbers or secrets`;
}

/** A pipe action refusing a string that carries sensitive data (see `sensitiveKindIn`). */
export function withoutSensitiveData() {
  return v.check<string, (issue: v.CheckIssue<string>) => string>(
    (text) => sensitiveKindIn(text) === null,
    (issue) => sensitiveDataMessage(sensitiveKindIn(issue.input as string) ?? "secret"),
  );
}

/**
 * Free text people type that is stored or audited (names, notes, reasons): a string of `min`–`max`
 * characters refusing card numbers, national ids, passwords and secrets. Use it for every such field, at
 * every boundary, so the gateway and each RPC refuse alike.
 */
export function FreeText(max: number, min = 0) {
  return v.pipe(v.string(), v.minLength(min), v.maxLength(max), withoutSensitiveData());
}

/**
 * A pipe action refusing a JSON value (strategy params, payloads) that carries sensitive data anywhere; the
 * issue's path goes down to the member at fault, so the 400 names it (`params.legs.0.note`).
 */
export function withoutSensitiveJson<T>() {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const found = sensitiveDataInJson(dataset.value);
    if (!found) return;
    const path: v.IssuePathItem[] = [];
    let node: unknown = dataset.value;
    for (const key of found.keys) {
      const child = (node as Record<string | number, unknown>)[key];
      path.push({ type: "unknown", origin: "value", input: node, key, value: child });
      node = child;
    }
    addIssue({
      message: sensitiveDataMessage(found.kind),
      ...(path.length > 0 ? { path: path as [v.IssuePathItem, ...v.IssuePathItem[]] } : {}),
    });
  });
}
