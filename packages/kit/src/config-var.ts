/**
 * A JSON object from a config var (`ALERT_RULES`, `BREAKER_THRESHOLDS`, …), or null when the var is unset, not
 * JSON, or not an object. Callers keep their defaults on null, field by field: a malformed var never loosens a
 * limit, it only fails to tighten one.
 */
export function jsonObjectVar(text: string | undefined): Record<string, unknown> | null {
  if (!text) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  return typeof raw === "object" && raw !== null && !Array.isArray(raw)
    ? (raw as Record<string, unknown>)
    : null;
}
