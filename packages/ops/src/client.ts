/** The admin API as the CLI sees it: one base URL, one set of credentials, answers parsed once. */

/** A failure to report in one line; exit status 1 (refused or failed) or 2 (usage). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
    /** What to print on stdout too (the error body, with --json). */
    readonly body?: unknown,
  ) {
    super(message);
  }
}

export interface Answer {
  status: number;
  ok: boolean;
  contentType: string;
  /** Parsed JSON, or undefined when the body is not JSON. */
  json: unknown;
  text: string;
}

export interface ClientOptions {
  base: string;
  env: Record<string, string | undefined>;
  fetch: typeof fetch;
  /** Reads the local dev token (workers/gateway/.dev.vars); only used for a local URL. */
  devToken: () => string | undefined;
}

export function isLocal(url: URL): boolean {
  return url.hostname === "127.0.0.1" || url.hostname === "localhost" || url.hostname === "[::1]";
}

export class AdminClient {
  readonly base: URL;
  private headers: Record<string, string> | undefined;

  constructor(private readonly options: ClientOptions) {
    let base: URL;
    try {
      base = new URL(options.base);
    } catch {
      throw new CliError(`not a URL: ${options.base}`, 2);
    }
    if (!isLocal(base) && base.protocol !== "https:")
      throw new CliError(`refusing to send credentials over ${base.protocol} to ${base.host}: use https`, 2);
    this.base = base;
  }

  get local(): boolean {
    return isLocal(this.base);
  }

  /** Credentials: an Access JWT (a person), else PAULP_TOKEN, else (local only) the dev token. */
  private credentials(): Record<string, string> {
    if (this.headers) return this.headers;
    const { env } = this.options;
    if (env.PAULP_ACCESS_JWT) {
      this.headers = { "cf-access-jwt-assertion": env.PAULP_ACCESS_JWT };
      return this.headers;
    }
    const token = env.PAULP_TOKEN || (this.local ? this.options.devToken() : undefined);
    if (!token)
      throw new CliError(
        `set PAULP_TOKEN (or PAULP_ACCESS_JWT) for ${this.base.host}${this.local ? " (or run pnpm dev once)" : ""}`,
        2,
      );
    this.headers = { authorization: `Bearer ${token.trim()}` };
    return this.headers;
  }

  /** Act as a person signed in through the local Access double (`pnpm dev` only). */
  async signInLocally(email: string): Promise<void> {
    if (!this.local) throw new CliError("--as works against a local mesh only: use PAULP_ACCESS_JWT", 2);
    const answer = await this.send("POST", "/dev/access-token", { email }, {});
    const token = (answer.json as { token?: string } | undefined)?.token;
    if (!answer.ok || !token) throw failure("POST /dev/access-token", answer);
    this.headers = { "cf-access-jwt-assertion": token };
  }

  /** One call with the credentials; never throws for an HTTP status, only for an unreachable gateway. */
  async call(method: string, path: string, body?: unknown): Promise<Answer> {
    return this.send(method, path, body, this.credentials());
  }

  /**
   * A GET whose answer is read as it arrives (a download): the response itself on 2xx, else the one-line failure.
   * Never throws for an unreachable gateway other than as `cannot reach`.
   */
  async download(path: string): Promise<Response> {
    const res = await this.open("GET", path, undefined, this.credentials());
    if (res.ok) return res;
    throw failure(`GET ${path}`, await answerOf(res));
  }

  private async open(method: string, path: string, body: unknown, auth: Record<string, string>) {
    const url = new URL(path, this.base);
    try {
      return await this.options.fetch(url, {
        method,
        headers: { ...auth, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        `cannot reach ${url.origin}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
      );
    }
  }

  private async send(method: string, path: string, body: unknown, auth: Record<string, string>) {
    return answerOf(await this.open(method, path, body, auth));
  }

  /** A call that must succeed: its JSON on 2xx, else a one-line failure naming the code and message. */
  async must(method: string, path: string, body?: unknown): Promise<unknown> {
    const answer = await this.call(method, path, body);
    if (!answer.ok) throw failure(`${method} ${path}`, answer);
    return answer.json ?? answer.text;
  }
}

/** The one line for a refused call: `HTTP 409 conflict: …`, plus what to do for a two-person action. */
export function failure(what: string, answer: Answer): CliError {
  const error = (
    answer.json as { error?: { code?: string; message?: string; details?: unknown } } | undefined
  )?.error;
  if (!error)
    return new CliError(`${what}: HTTP ${answer.status} ${answer.text.slice(0, 200)}`.trim(), 1, answer.json);
  let line = `${what}: HTTP ${answer.status} ${error.code}: ${error.message}`;
  const details = error.details as { action?: string; payload?: unknown } | undefined;
  if (error.code === "approval_required" && details?.action) {
    line += ` — as a person: pnpm paulp approvals request ${details.action} '${JSON.stringify(details.payload)}'`;
  }
  if (error.code === "forbidden" && /verified person/.test(error.message ?? "")) {
    line += " (act as a person: PAULP_ACCESS_JWT, or --as <email> on a local mesh)";
  }
  return new CliError(line.replace(/\s*\n\s*/g, " "), 1, answer.json);
}

/** An answer read whole: its text, and its JSON when it is JSON. */
async function answerOf(res: Response): Promise<Answer> {
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return {
    status: res.status,
    ok: res.ok,
    contentType: res.headers.get("content-type") ?? "",
    json,
    text,
  };
}
