// Kalshi's wire units and error shapes as the simulator writes them: dollars as 4-decimal strings, counts as
// 2-decimal strings (kept in hundredths), fees to 6 decimals.
// Kalshi's order_errors page: rejections are `{ error: { code, message } }`; an unparsable body is a 400 with
// `code`/`message` at the top level.
export const err = (status: number, code: string, message: string) =>
  Response.json({ error: { code, message } }, { status });
export const badBody = (message: string) => Response.json({ code: "bad_request", message }, { status: 400 });

/** Basis points (1e-4 dollars) of a dollar decimal string. */
export function bp(s: string): number {
  const [w, f = ""] = s.split(".");
  return Number(w) * 10_000 + Number(f.padEnd(4, "0").slice(0, 4));
}
export const dollars = (b: number) =>
  `${Math.floor(b / 10_000)}.${String(Math.round(b) % 10_000).padStart(4, "0")}`;
/** Hundredths of a contract as the spec's 2-decimal count ("2.50"). */
export const fp = (h: number) =>
  `${h < 0 ? "-" : ""}${Math.floor(Math.abs(h) / 100)}.${String(Math.abs(h) % 100).padStart(2, "0")}`;
/** A fixed-point count in hundredths. */
export const hundredths = (s: string) => Math.round(Number(s) * 100);
/** A total in (basis points × hundredths) spread over `h` hundredths, per contract in dollars to 6 decimals. */
export const perContract = (totalBpH: number, h: number) => {
  const micros = Math.round((totalBpH * 100) / Math.max(1, h));
  return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, "0")}`;
};
/** A total in (basis points × hundredths) as dollars to 6 decimals. */
export const totalDollars = (bpH: number) => {
  const micros = Math.round(bpH);
  return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, "0")}`;
};
