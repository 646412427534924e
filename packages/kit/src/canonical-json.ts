/**
 * RFC 8785 JSON Canonicalization Scheme (JCS). Hashes over audit entries, intents and approval payloads
 * must be byte-identical wherever they are computed, so every hash in the system goes through this.
 * Rejects what JCS cannot represent: NaN, ±Infinity, lone surrogates, undefined, functions, bigints.
 */
export class CanonicalJsonError extends Error {
  override name = "CanonicalJsonError";
}

export function canonicalJson(value: unknown): string {
  return serialise(value, "$");
}

function serialise(value: unknown, path: string): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value))
        throw new CanonicalJsonError(`${path}: ${value} is not representable in JSON`);
      // ECMAScript Number-to-String is exactly RFC 8785's number form (-0 serialises as 0).
      return JSON.stringify(value);
    case "string":
      return serialiseString(value, path);
    case "object": {
      if (Array.isArray(value)) {
        // A hole ([, 1]) has no JSON form: `map` would skip it and leave invalid text behind.
        const items: string[] = [];
        for (let i = 0; i < value.length; i++) {
          if (!(i in value))
            throw new CanonicalJsonError(`${path}[${i}]: arrays with holes have no JSON form`);
          items.push(serialise(value[i], `${path}[${i}]`));
        }
        return `[${items.join(",")}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new CanonicalJsonError(`${path}: only plain objects can be canonicalised`);
      }
      // JCS sorts property names by their UTF-16 code units, which is what the default sort compares.
      const keys = Object.keys(value as object).sort();
      const parts: string[] = [];
      for (const key of keys) {
        const member = (value as Record<string, unknown>)[key];
        if (member === undefined) throw new CanonicalJsonError(`${path}.${key}: undefined is not JSON`);
        parts.push(`${serialiseString(key, path)}:${serialise(member, `${path}.${key}`)}`);
      }
      return `{${parts.join(",")}}`;
    }
    default:
      throw new CanonicalJsonError(`${path}: ${typeof value} is not JSON`);
  }
}

function serialiseString(s: string, path: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) throw new CanonicalJsonError(`${path}: lone surrogate`);
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      throw new CanonicalJsonError(`${path}: lone surrogate`);
    }
  }
  // With well-formed input JSON.stringify escapes exactly as RFC 8785 §3.2.2.2 requires.
  return JSON.stringify(s);
}

/**
 * True exactly when `text.slice(start, end)` is the RFC 8785 form of some JSON value, i.e. when
 * `canonicalJson(JSON.parse(text)) === text`, decided in one pass over the text without building the value:
 * no whitespace, members sorted by UTF-16 code units with no duplicate, strings escaped only where JCS
 * escapes (and well formed), numbers in ECMAScript Number-to-String form. Verifiers use it to hash stored
 * canonical bytes as they are while still proving they are canonical.
 */
export function isCanonicalJsonText(text: string, start = 0, end = text.length): boolean {
  try {
    return new CanonicalScan(text, end).value(start) === end;
  } catch {
    // Nesting too deep for the stack: decide with the reference definition.
    try {
      const slice = text.slice(start, end);
      return canonicalJson(JSON.parse(slice)) === slice;
    } catch {
      return false;
    }
  }
}

/**
 * Where the canonical JSON value starting at `start` ends (the index after it), or -1 when the text there
 * does not begin with one. Lets a caller check a value embedded in a longer line without knowing its end:
 * `isCanonicalJsonText(text, start, end)` holds exactly when this returns `end`.
 */
export function canonicalJsonValueEnd(text: string, start = 0): number {
  try {
    return new CanonicalScan(text, text.length).value(start);
  } catch {
    return -1; // nesting too deep for the stack
  }
}

const FAIL = -1;

/** Recursive-descent check; each method takes a position and returns the position after the token or FAIL. */
class CanonicalScan {
  constructor(
    private readonly s: string,
    private readonly end: number,
  ) {}

  value(i: number): number {
    if (i >= this.end) return FAIL;
    const c = this.s.charCodeAt(i);
    if (c === 0x22) return this.string(i);
    if (c === 0x7b) return this.object(i);
    if (c === 0x5b) return this.array(i);
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number(i);
    if (c === 0x74) return this.s.startsWith("true", i) && i + 4 <= this.end ? i + 4 : FAIL;
    if (c === 0x66) return this.s.startsWith("false", i) && i + 5 <= this.end ? i + 5 : FAIL;
    if (c === 0x6e) return this.s.startsWith("null", i) && i + 4 <= this.end ? i + 4 : FAIL;
    return FAIL;
  }

  private object(i: number): number {
    const s = this.s;
    i++;
    if (i < this.end && s.charCodeAt(i) === 0x7d) return i + 1;
    let prevStart = -1;
    let prevEnd = -1;
    for (;;) {
      if (i >= this.end || s.charCodeAt(i) !== 0x22) return FAIL;
      const keyEnd = this.string(i);
      if (keyEnd === FAIL) return FAIL;
      if (prevStart >= 0 && !this.keyBefore(prevStart, prevEnd, i, keyEnd)) return FAIL;
      prevStart = i;
      prevEnd = keyEnd;
      if (keyEnd >= this.end || s.charCodeAt(keyEnd) !== 0x3a) return FAIL;
      i = this.value(keyEnd + 1);
      if (i === FAIL || i >= this.end) return FAIL;
      const c = s.charCodeAt(i);
      if (c === 0x7d) return i + 1;
      if (c !== 0x2c) return FAIL;
      i++;
    }
  }

  private array(i: number): number {
    const s = this.s;
    i++;
    if (i < this.end && s.charCodeAt(i) === 0x5d) return i + 1;
    for (;;) {
      i = this.value(i);
      if (i === FAIL || i >= this.end) return FAIL;
      const c = s.charCodeAt(i);
      if (c === 0x5d) return i + 1;
      if (c !== 0x2c) return FAIL;
      i++;
    }
  }

  /** Strict order of two keys (quoted spans) by the UTF-16 code units of their values. */
  private keyBefore(aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
    const s = this.s;
    const aLen = aEnd - aStart - 2;
    const bLen = bEnd - bStart - 2;
    const n = Math.min(aLen, bLen);
    for (let k = 1; k <= n; k++) {
      const ca = s.charCodeAt(aStart + k);
      const cb = s.charCodeAt(bStart + k);
      // An escape stands for another character ('"', '\' or a control): compare the decoded values.
      if (ca === 0x5c || cb === 0x5c)
        return JSON.parse(s.slice(aStart, aEnd)) < JSON.parse(s.slice(bStart, bEnd));
      if (ca !== cb) return ca < cb;
    }
    return aLen < bLen;
  }

  private string(i: number): number {
    const s = this.s;
    for (i++; i < this.end; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x22) return i + 1;
      if (c < 0x20) return FAIL;
      if (c === 0x5c) {
        const e = s.charCodeAt(++i);
        // JCS escapes '"', '\', and controls: \b \t \n \f \r short, the rest as \u00xx (lower-case hex).
        if (e === 0x22 || e === 0x5c || e === 0x62 || e === 0x74 || e === 0x6e || e === 0x66 || e === 0x72)
          continue;
        if (e !== 0x75 || i + 4 >= this.end || s.charCodeAt(i + 1) !== 0x30 || s.charCodeAt(i + 2) !== 0x30)
          return FAIL;
        const hi = s.charCodeAt(i + 3);
        const lo = s.charCodeAt(i + 4);
        const loVal = lo >= 0x30 && lo <= 0x39 ? lo - 0x30 : lo >= 0x61 && lo <= 0x66 ? lo - 0x57 : -1;
        if (loVal < 0 || (hi !== 0x30 && hi !== 0x31)) return FAIL;
        const code = (hi - 0x30) * 16 + loVal;
        if (code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) return FAIL;
        i += 4;
      } else if (c >= 0xd800 && c <= 0xdfff) {
        // Well formed only: a high surrogate followed by a low one.
        if (c >= 0xdc00) return FAIL;
        const next = s.charCodeAt(i + 1);
        if (!(next >= 0xdc00 && next <= 0xdfff) || i + 1 >= this.end) return FAIL;
        i++;
      }
    }
    return FAIL;
  }

  private number(i: number): number {
    const s = this.s;
    const start = i;
    let digitsOnly = true;
    for (; i < this.end; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x30 && c <= 0x39) continue;
      if (c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45) {
        digitsOnly = false;
        continue;
      }
      break;
    }
    const len = i - start;
    // Plain integers below 10^15 with no leading zero are already in Number-to-String form.
    if (digitsOnly && len <= 15 && (len === 1 || s.charCodeAt(start) !== 0x30)) return i;
    // Otherwise the token must be exactly what ECMAScript prints for its value (which is valid JSON).
    const token = s.slice(start, i);
    const n = Number(token);
    return Number.isFinite(n) && String(n) === token ? i : FAIL;
  }
}
