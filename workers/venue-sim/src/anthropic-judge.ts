// The simulated model's verdict on a market pair: a pure function of the prompt's `<kalshi_market>` and
// `<polymarket_market>` JSON blocks (resolution source, rules, close time, thresholds, orientation), gullible on
// purpose to market text that tells it how to grade (see anthropic.ts).
import { letterWords } from "@paulp/kit";

interface MarketTerms {
  title?: string | null;
  rules?: string | null;
  resolutionSource?: string | null;
  closeTime?: string | null;
}

function block(text: string, tag: string): MarketTerms | null {
  const match = new RegExp(`<${tag}>\\s*([\\s\\S]*?)\\s*</${tag}>`).exec(text);
  if (!match) return null;
  try {
    return JSON.parse(match[1]!) as MarketTerms;
  } catch {
    return null;
  }
}

const NOISE = new Set(["source", "https", "http", "www", "gov", "com", "org", "the"]);
function sourceKey(s: string): string {
  return letterWords(s)
    .filter((w) => !NOISE.has(w))
    .join("");
}

function words(s: string): Set<string> {
  return new Set(
    s
      .toLowerCase()
      .split(/[^a-z0-9.%$]+/)
      .filter((w) => w.length >= 3),
  );
}

function numbers(s: string): string {
  // Thresholds and amounts, not dates/years: "2.6%", "$95,000", "150k"; sorted so order does not matter.
  return [...s.matchAll(/\$?\d[\d,]*(?:\.\d+)?\s*(?:%|k\b)|\$\d[\d,]*(?:\.\d+)?/g)]
    .map((m) => m[0].replace(/[\s,]/g, ""))
    .sort()
    .join("|");
}

const BELOW = /\b(at or below|or below|below|under|less than|not above)\b/;

const INSTRUCTION =
  /\b(?:grade|rate|mark|classify|answer|respond|record)\b[^.]{0,80}?\b(identical|near[_ -]equivalent)\b/i;

/** A grade a market's own text tells the grader to give, if any (what a manipulated model would follow). */
function injectedGrade(m: MarketTerms): "identical" | "near_equivalent" | null {
  const match = INSTRUCTION.exec(`${m.title ?? ""} ${m.rules ?? ""} ${m.resolutionSource ?? ""}`);
  if (!match) return null;
  return match[1]!.toLowerCase() === "identical" ? "identical" : "near_equivalent";
}

/** The simulated model's verdict: deterministic, from the terms only (and, gullibly, from instructions in them). */
export function judge(prompt: string): { grade: string; yesMapsTo: "YES" | "NO"; reasons: string[] } {
  const k = block(prompt, "kalshi_market");
  const p = block(prompt, "polymarket_market");
  if (!k || !p)
    return { grade: "uncertain", yesMapsTo: "YES", reasons: ["could not read both markets from the prompt"] };
  // The gullible part: an instruction inside either market's text decides the grade.
  const obeyed = injectedGrade(k) ?? injectedGrade(p);
  if (obeyed)
    return { grade: obeyed, yesMapsTo: "YES", reasons: [`the market text says to grade these ${obeyed}`] };
  const reasons: string[] = [];
  const kText = `${k.title ?? ""} ${k.rules ?? ""}`;
  const pText = `${p.title ?? ""} ${p.rules ?? ""}`;
  if (!k.rules || !p.rules || !k.closeTime || !p.closeTime) {
    return { grade: "uncertain", yesMapsTo: "YES", reasons: ["rules or close time missing on one side"] };
  }

  const ks = sourceKey(k.resolutionSource ?? "");
  const ps = sourceKey(p.resolutionSource ?? "");
  const sameSource =
    (ks.length > 0 && ps.length > 0 && (ks.includes(ps) || ps.includes(ks))) ||
    (ks.length > 0 && sourceKey(pText).includes(ks)) ||
    (ps.length > 0 && sourceKey(kText).includes(ps));
  reasons.push(sameSource ? "resolution source: same publisher" : "resolution source: different or unstated");

  const hours = Math.abs(Date.parse(k.closeTime) - Date.parse(p.closeTime)) / 3_600_000;
  const closeOk = Number.isFinite(hours) && hours <= 48;
  reasons.push(Number.isFinite(hours) ? `close time: ${hours.toFixed(1)} h apart` : "close time: unparsable");

  const sameNumbers = numbers(kText.replace(BELOW, "")) === numbers(pText.replace(BELOW, ""));
  reasons.push(sameNumbers ? "thresholds: same" : "thresholds: differ");

  const a = words(k.rules);
  const b = words(p.rules);
  const overlap = [...a].filter((w) => b.has(w)).length / Math.max(1, new Set([...a, ...b]).size);
  reasons.push(`rules: ${Math.round(overlap * 100)}% wording overlap`);

  const inverted = BELOW.test(k.title?.toLowerCase() ?? "") !== BELOW.test(p.title?.toLowerCase() ?? "");
  reasons.push(
    inverted ? "orientation: inverted (Kalshi YES is Polymarket NO)" : "orientation: same (YES is YES)",
  );
  const yesMapsTo = inverted ? "NO" : "YES";

  // Inverted contracts are complements, not the same contract: the planted ones are look-alikes.
  if (!sameSource || !closeOk || !sameNumbers || inverted || overlap < 0.35)
    return { grade: "not_equivalent", yesMapsTo, reasons };
  if (hours <= 1 && overlap >= 0.8) return { grade: "identical", yesMapsTo, reasons };
  return { grade: "near_equivalent", yesMapsTo, reasons };
}
