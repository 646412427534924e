import type { EgressFetch } from "@paulp/kit";
import * as v from "valibot";
import { AuthStatus, IserverAccounts, PortfolioAccounts, SwitchedAccount } from "./ibkr-wire";
import type { VenueRequest, VenueResult } from "./result";
import { classifyStatus, classifyThrown, errorMessage, verr, vok } from "./result";

// The IBKR client's session with the Client Portal gateway: the Access token on every request, answers parsed,
// the brokerage session's reauthentication (bounded) and the per-session prerequisites the spec requires
// (`/iserver/accounts`, the selected account, `/portfolio/accounts`). Orders, fills and positions are in ibkr.ts.

/** Reauthentication: auth-status polls, the wait between them, and the time budget for all of them. */
export const REAUTH_DEFAULTS = { polls: 6, intervalMs: 500, budgetMs: 5_000 } as const;

export interface IbkrClientOptions {
  gatewayUrl: string;
  accountId: string;
  fetch: EgressFetch;
  /** Cloudflare Access service token in front of the gateway (both parts or neither). */
  access?: { clientId?: string | undefined; clientSecret?: string | undefined };
  confirmable?: readonly string[];
  /**
   * Called for each question seen, confirmed or not (the caller audits it). Returns false when the question
   * could not be recorded: then it is refused, whatever it asks.
   */
  onQuestion?: (q: { message: string[]; confirmed: boolean }) => Promise<boolean>;
  /** Waits between auth-status polls (a timer in production; tests pass their own). */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  reauth?: Partial<typeof REAUTH_DEFAULTS>;
}

/** Order writes only: a lost answer to one of them may hide an order (outcome unknown, looked up later). */
function isOrderWrite(method: string, path: string): boolean {
  return method !== "GET" && /\/orders$|\/order\/|\/reply\//.test(path);
}

/** The gateway session of one client: requests, reauthentication and the session's prerequisites. */
export function createIbkrSession(o: IbkrClientOptions) {
  const accessId = o.access?.clientId ?? "";
  const accessSecret = o.access?.clientSecret ?? "";
  const accessMismatch = (accessId === "") !== (accessSecret === "");
  const configured = o.gatewayUrl.length > 0 && o.accountId.length > 0;
  const base = `${o.gatewayUrl.replace(/\/+$/, "")}/v1/api`;
  const reauth = { ...REAUTH_DEFAULTS, ...o.reauth };
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = o.now ?? Date.now;
  const acct = encodeURIComponent(o.accountId);

  // What this brokerage session has already done (a reauthentication starts a new session).
  let iserverAccounts: { selected: string | null } | null = null;
  let portfolioAccounts = false;

  /**
   * One request to the gateway with the Access token; a 2xx response unread, or why not. With `keepAnswer`, any
   * answer the gateway itself gave (not Access's redirect, and not a 401, which `session` answers by
   * reauthenticating) comes back unread whatever its status: a market-data answer is evidence even when it refuses.
   */
  async function send(
    method: string,
    path: string,
    body?: unknown,
    opts: { keepAnswer?: boolean } = {},
  ): Promise<VenueResult<Response>> {
    if (!configured) return verr("not_configured", "IBKR_GATEWAY_URL / IBKR_ACCOUNT_ID not set");
    if (accessMismatch)
      return verr(
        "not_configured",
        "IBKR_ACCESS_CLIENT_ID and IBKR_ACCESS_CLIENT_SECRET must be set together",
      );
    const write = isOrderWrite(method, path);
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (accessId) {
      headers["CF-Access-Client-Id"] = accessId;
      headers["CF-Access-Client-Secret"] = accessSecret;
    }
    let res: Response;
    try {
      res = await o.fetch(base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        // Access answers a request it does not let through with a redirect to its login page: never follow it.
        redirect: "manual",
      });
    } catch (e) {
      return { ok: false, error: classifyThrown(e, write) };
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      return verr(
        "auth",
        "Cloudflare Access refused the request (redirect to login): check the service token",
        res.status,
      );
    }
    if (opts.keepAnswer && res.status !== 401) return vok(res);
    if (!res.ok) {
      const message = await errorMessage(res);
      if (/already registered/i.test(message)) return verr("duplicate", message, res.status);
      return { ok: false, error: classifyStatus(res.status, message, write) };
    }
    return vok(res);
  }

  /** One request to the gateway, its answer parsed. */
  const once: VenueRequest = async (method, path, schema, body) => {
    const sent = await send(method, path, body);
    if (!sent.ok) return sent;
    const write = isOrderWrite(method, path);
    const raw = await sent.value.json().catch(() => undefined);
    const parsed = v.safeParse(schema, raw);
    if (!parsed.success)
      return verr(
        write ? "outcome_unknown" : "invalid_response",
        `unexpected IBKR response to ${method} ${path}`,
      );
    return vok(parsed.output);
  };

  /** Poll the auth status until it says authenticated, within the bound. */
  async function awaitAuthenticated(started: number): Promise<VenueResult<void>> {
    let last = "no answer";
    for (let poll = 0; poll < reauth.polls; poll++) {
      if (poll > 0) {
        if (now() - started + reauth.intervalMs > reauth.budgetMs) break;
        await sleep(reauth.intervalMs);
      }
      const s = await once("POST", "/iserver/auth/status", AuthStatus);
      if (s.ok && s.value.authenticated === true) return vok(undefined);
      last = s.ok
        ? `authenticated=${String(s.value.authenticated ?? "absent")}${s.value.competing ? ", competing" : ""}${s.value.fail ? `, ${s.value.fail}` : ""}`
        : `${s.error.kind}: ${s.error.message}`;
    }
    return verr("auth", `IBKR brokerage session did not become authenticated (${last})`, 401);
  }

  /** Ask for a new brokerage session and wait (bounded) until the gateway says it is authenticated. */
  async function reauthenticate(): Promise<VenueResult<void>> {
    const started = now();
    iserverAccounts = null;
    portfolioAccounts = false;
    const r = await once("POST", "/iserver/reauthenticate", AuthStatus);
    if (!r.ok) return verr("auth", `IBKR reauthentication refused: ${r.error.message}`, r.error.status);
    return awaitAuthenticated(started);
  }

  /**
   * Run a gateway operation; on a 401 (the brokerage session lapsed), reauthenticate and run it once more from
   * its start, prerequisites included. A 401 means the gateway refused the request before acting on it, so
   * running a write again cannot double it (and a placed order's cOID is unique for 24 hours at IBKR).
   */
  async function session<T>(op: () => Promise<VenueResult<T>>): Promise<VenueResult<T>> {
    const first = await op();
    if (first.ok || first.error.status !== 401) return first;
    const re = await reauthenticate();
    if (!re.ok) return re;
    return op();
  }

  /** `/iserver/accounts`, once per brokerage session: must precede live orders and cancels (spec). */
  async function ensureIserverAccounts(): Promise<VenueResult<{ selected: string | null }>> {
    if (iserverAccounts) return vok(iserverAccounts);
    const r = await once("GET", "/iserver/accounts", IserverAccounts);
    if (!r.ok) return r;
    if (!r.value.accounts?.includes(o.accountId))
      return verr("auth", `IBKR account ${o.accountId} is not among the session's brokerage accounts`);
    iserverAccounts = { selected: r.value.selectedAccount ?? null };
    return vok(iserverAccounts);
  }

  /** Trades are "for the currently selected account": select ours first when it is not. */
  async function ensureSelected(): Promise<VenueResult<void>> {
    const a = await ensureIserverAccounts();
    if (!a.ok) return a;
    if (a.value.selected === o.accountId) return vok(undefined);
    const r = await once("POST", "/iserver/account", SwitchedAccount, { acctId: o.accountId });
    if (!r.ok) return r;
    if (r.value.set === false) return verr("rejected", `IBKR did not select account ${o.accountId}`);
    a.value.selected = o.accountId;
    return vok(undefined);
  }

  /** `/portfolio/accounts`, once per brokerage session: must precede other /portfolio calls (spec). */
  async function ensurePortfolioAccounts(): Promise<VenueResult<void>> {
    if (portfolioAccounts) return vok(undefined);
    const r = await once("GET", "/portfolio/accounts", PortfolioAccounts);
    if (!r.ok) return r;
    if (!r.value.some((a) => a.accountId === o.accountId || a.id === o.accountId))
      return verr("auth", `IBKR account ${o.accountId} is not among the portfolio accounts`);
    portfolioAccounts = true;
    return vok(undefined);
  }

  return {
    configured,
    base,
    acct,
    send,
    once,
    reauthenticate,
    session,
    ensureIserverAccounts,
    ensureSelected,
    ensurePortfolioAccounts,
  };
}

/** One client's gateway session. */
export type IbkrSession = ReturnType<typeof createIbkrSession>;
