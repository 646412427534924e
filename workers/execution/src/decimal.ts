/** Fixed-point dollars in basis points (1e-4 dollars): prices stay exact integers, never floats. */

/** "0.5600" → 5600. Throws on anything that is not a decimal string with at most 4 decimals. */
export function toBp(s: string): number {
  const m = /^(-?)(\d{1,12})(?:\.(\d{1,4}))?$/.exec(s);
  if (!m) throw new Error(`not a decimal string: ${s}`);
  const v = Number(m[2]) * 10_000 + Number((m[3] ?? "").padEnd(4, "0"));
  return m[1] ? -v : v;
}

/** A venue's dollar string with up to 6 decimals ("0.017325") in micro-dollars, or null. */
export function toMicros(s: string | null | undefined): number | null {
  if (typeof s !== "string") return null;
  const m = /^(\d{1,9})(?:\.(\d{1,6}))?$/.exec(s);
  if (!m) return null;
  return Number(m[1]) * 1_000_000 + Number((m[2] ?? "").padEnd(6, "0"));
}

/** A venue price with up to 6 decimals as our 4-decimal string (half up), or null. */
export function normPrice(s: string | null | undefined): string | null {
  const m = toMicros(s);
  return m === null ? null : fromBp(Math.round(m / 100));
}

/** A venue fee with up to 6 decimals as our 4-decimal string, rounded up (never under-counted), or null. */
export function normFee(s: string | null | undefined): string | null {
  const m = toMicros(s);
  return m === null ? null : fromBp(Math.ceil(m / 100));
}

/** 5600 → "0.5600". */
export function fromBp(bp: number): string {
  const n = Math.round(bp);
  const sign = n < 0 ? "-" : "";
  const a = Math.abs(n);
  return `${sign}${Math.floor(a / 10_000)}.${String(a % 10_000).padStart(4, "0")}`;
}
