import type { AdminClient, Answer } from "../client";

/** The refusal in one line: status, and the error envelope's code and message when there is one. */
function refusal(what: string, a: Answer): Error {
  const e = (a.json as { error?: { code?: string; message?: string } } | undefined)?.error;
  return new Error(`${what} answered ${a.status}${e ? ` ${e.code}: ${e.message}` : ""}`);
}

/** The gateway, asked at most once per route. */
export class Live {
  private cache = new Map<string, Promise<Answer>>();
  constructor(readonly client: AdminClient | null) {}
  ask(method: string, route: string, body?: unknown): Promise<Answer> {
    if (!this.client) return Promise.reject(new Error("no gateway to ask: give --url (and a token)"));
    const key = `${method} ${route} ${JSON.stringify(body ?? null)}`;
    let answer = this.cache.get(key);
    if (!answer) {
      answer = this.client.call(method, route, body);
      this.cache.set(key, answer);
    }
    return answer;
  }
  /** The JSON of a 2xx answer; a refusal becomes a reason. */
  async json<T>(method: string, route: string, body?: unknown): Promise<T> {
    const a = await this.ask(method, route, body);
    if (!a.ok) throw refusal(`${method} ${route}`, a);
    return a.json as T;
  }
  /** The gateway's own configuration checks from /admin/status (it answers 503 when degraded, with the body). */
  async gatewayCheck(name: string): Promise<{ ok: boolean; detail?: string } | undefined> {
    const a = await this.ask("GET", "/admin/status");
    const body = a.json as
      | { services?: { gateway?: { checks?: { name: string; ok: boolean; detail?: string }[] } } }
      | undefined;
    const checks = body?.services?.gateway?.checks;
    if (!checks) throw refusal("GET /admin/status", a);
    return checks.find((c) => c.name === name);
  }
}
