/**
 * Answers the simulator served, by venue and status (dev/test only): the soak reads them (`GET /__sim/stats`) to
 * count the 429s the venues would have sent, retried or not. Kept in the object's storage, so a restart of the
 * object does not lose them (each answer's write is coalesced with the request's own).
 */
export class AnswerStats {
  private counts: Record<string, Record<string, number>> | null = null;

  constructor(private readonly storage: DurableObjectStorage) {}

  /** Count one answer to a venue request (simulator controls under /__sim/ are not counted). */
  async record(url: URL, status: number): Promise<void> {
    if (url.pathname.startsWith("/__sim/")) return;
    const counts = await this.load();
    const venue = venueOf(url.hostname);
    const byStatus = counts[venue] ?? {};
    counts[venue] = byStatus;
    byStatus[String(status)] = (byStatus[String(status)] ?? 0) + 1;
    void this.storage.put("answer_stats", counts);
  }

  async view(): Promise<{ answers: Record<string, Record<string, number>> }> {
    return { answers: structuredClone(await this.load()) };
  }

  private async load(): Promise<Record<string, Record<string, number>>> {
    this.counts ??= (await this.storage.get<Record<string, Record<string, number>>>("answer_stats")) ?? {};
    return this.counts;
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
