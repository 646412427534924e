/** Fixed-point dollars in basis points (1e-4 dollars): prices stay exact integers, never floats. */

/** "0.5600" → 5600. Throws on anything that is not a decimal string with at most 4 decimals. */
export function toBp(s: string): number {
  const m = /^(-?)(\d{1,12})(?:\.(\d{1,4}))?$/.exec(s);
  if (!m) throw new Error(`not a decimal string: ${s}`);
  const v = Number(m[2]) * 10_000 + Number((m[3] ?? "").padEnd(4, "0"));
  return m[1] ? -v : v;
}

/** 5600 → "0.5600". */
export function fromBp(bp: number): string {
  const n = Math.round(bp);
  const sign = n < 0 ? "-" : "";
  const a = Math.abs(n);
  return `${sign}${Math.floor(a / 10_000)}.${String(a % 10_000).padStart(4, "0")}`;
}
