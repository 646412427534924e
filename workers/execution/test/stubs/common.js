// Shared helpers for the inline stub workers (plain JS: they run beside the test runner in workerd).
export function canonical(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  return `{${Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
    .join(",")}}`;
}
export async function intentHash(intent) {
  const bytes = new TextEncoder().encode(`paulp.intent.v1\n${canonical(intent)}`);
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}
export const ok = (value) => ({ ok: true, value });
export const err = (code, message) => ({ ok: false, error: { code, message } });
