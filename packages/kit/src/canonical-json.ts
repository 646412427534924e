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
        return `[${value.map((item, i) => serialise(item, `${path}[${i}]`)).join(",")}]`;
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
