// A check outside the model: a passing grade (identical / near_equivalent) must agree with what the two markets'
// own terms say about when they close and who resolves them. Market text is untrusted (it can tell the model how to
// grade), so a model's "identical" is never enough on its own; this is a guard against gross contradictions, not a
// second judgement of equivalence. Pure: no clock, no I/O.
import type { PairLeg } from "@paulp/contracts";
import { letterWords } from "@paulp/kit";

/** The most two passing legs' close times may differ. */
export const MAX_CLOSE_GAP_HOURS = 48;

const NOISE = new Set([
  "source",
  "sources",
  "resolution",
  "https",
  "http",
  "www",
  "gov",
  "com",
  "org",
  "net",
  "the",
  "official",
  "website",
]);
const MINOR = new Set(["of", "the", "and", "for", "on", "in", "at", "by", "to", "a", "an"]);

/** Letters only, lower case, without the words every source statement shares. */
function compact(text: string): string {
  return letterWords(text)
    .filter((w) => !NOISE.has(w))
    .join("");
}

/** First letters of the significant words ("Bureau of Labor Statistics" → "bls"). */
function initials(text: string): string {
  return letterWords(text)
    .filter((w) => !MINOR.has(w) && !NOISE.has(w))
    .map((w) => w[0])
    .join("");
}

/** The publisher a stated source names: a URL's host (without www. and its last label), else the words. */
function sourceKey(source: string): string {
  const url = /https?:\/\/([^/\s]+)/i.exec(source);
  if (url) {
    const labels = url[1]!
      .toLowerCase()
      .split(".")
      .filter((l) => l && l !== "www");
    return compact(labels.slice(0, Math.max(1, labels.length - 1)).join(" "));
  }
  return compact(source);
}

/** True when `key` (at least three letters) is named in `text`, spelled out or by its initials. */
function names(text: string, key: string): boolean {
  return key.length >= 3 && (compact(text).includes(key) || initials(text).includes(key));
}

function legText(leg: PairLeg): string {
  return [leg.title, leg.rules ?? "", leg.resolutionSource ?? ""].join(" ");
}

/** Why a passing grade disagrees with the legs' close times or resolution sources; empty when it agrees. */
export function passingGradeConflicts(kalshi: PairLeg, polymarket: PairLeg): string[] {
  const out: string[] = [];
  const k = kalshi.closeTime ? Date.parse(kalshi.closeTime) : Number.NaN;
  const p = polymarket.closeTime ? Date.parse(polymarket.closeTime) : Number.NaN;
  if (!Number.isFinite(k) || !Number.isFinite(p)) {
    out.push(
      `close time: ${!Number.isFinite(k) ? "kalshi" : "polymarket"} has none that reads as a time, so equal close times cannot be confirmed`,
    );
  } else {
    const hours = Math.abs(k - p) / 3_600_000;
    if (hours > MAX_CLOSE_GAP_HOURS)
      out.push(
        `close time: ${hours.toFixed(1)} h apart (at most ${MAX_CLOSE_GAP_HOURS} h for a passing grade)`,
      );
  }
  const stated = [kalshi, polymarket].filter((l) => (l.resolutionSource ?? "").trim().length > 0);
  if (stated.length === 0) {
    out.push("resolution source: stated on neither market, so a common source cannot be confirmed");
  } else {
    // Each stated source must be named by the other market (in its source, title or rules).
    for (const leg of stated) {
      const other = leg === kalshi ? polymarket : kalshi;
      const key = sourceKey(leg.resolutionSource!);
      const otherKey = other.resolutionSource ? sourceKey(other.resolutionSource) : "";
      const agree =
        names(legText(other), key) ||
        (otherKey.length >= 3 && (key.includes(otherKey) || names(leg.resolutionSource!, otherKey)));
      if (!agree)
        out.push(
          `resolution source: ${leg.venue}'s "${leg.resolutionSource!.slice(0, 120)}" is not named by the ${other.venue} market`,
        );
    }
  }
  return out;
}
