/**
 * Answers the simulator served, by venue and status, since its object started (dev/test only): the soak reads
 * them (`GET /__sim/stats`) to count the 429s the venues would have sent, retried or not.
 */
export class AnswerStats {
  private counts: Record<string, Record<string, number>> = {};
  private since = new Date().toISOString();

  /** Count one answer to a venue request (simulator controls under /__sim/ are not counted). */
  record(url: URL, status: number): void {
    if (url.pathname.startsWith("/__sim/")) return;
    const venue = venueOf(url.hostname);
    const byStatus = this.counts[venue] ?? {};
    this.counts[venue] = byStatus;
    byStatus[String(status)] = (byStatus[String(status)] ?? 0) + 1;
  }

  view(): { since: string; answers: Record<string, Record<string, number>> } {
    return { since: this.since, answers: structuredClone(this.counts) };
  }
}

function venueOf(host: string): string {
  if (host.endsWith("kalshi.com") || host.endsWith("kalshi.co")) return "kalshi";
  if (host.endsWith("polymarket.com"))
    return host.split(".")[0] === "clob" ? "polymarket-clob" : "polymarket";
  if (host === "api.anthropic.com") return "anthropic";
  if (host.endsWith(".cloudflareaccess.com")) return "access";
  return "ibkr";
}
