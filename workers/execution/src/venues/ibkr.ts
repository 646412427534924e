import type { EgressFetch } from "@paulp/kit";
import * as v from "valibot";
import {
  AuthStatus,
  fillOf,
  type IbkrNewOrder,
  type IbkrOrderReport,
  IserverAccounts,
  LiveOrders,
  OrderAnswer,
  PortfolioAccounts,
  PositionPage,
  SwitchedAccount,
  Trades,
} from "./ibkr-wire";
import { classifyStatus, classifyThrown, errorMessage, type VenueResult, verr, vok } from "./result";

export * from "./ibkr-wire";

/**
 * IBKR Client Portal Web API client, written against IBKR's own description (Swagger 2.0, vendored in
 * packages/venue-models/official; docs/venues.md names the path or definition behind each rule). It talks to a
 * Client Portal gateway the operator runs and logs in, reached through a Cloudflare Tunnel at IBKR_GATEWAY_URL
 * behind Cloudflare Access (a service token on every request). It reads only fields the spec names, and treats
 * every one of them as optional: a missing field it needs makes the answer unusable (fail closed), never a
 * guess. What the spec requires:
 * - `/iserver/accounts` before live orders and cancels (and the order's `acctId` is one of its accounts);
 *   `/portfolio/accounts` before positions; trades are "for the currently selected account";
 * - positions are paged (`/portfolio/{accountId}/positions/{pageId}`), after invalidating the portfolio cache;
 * - an order answers with a question (`[{ id, message }]`) that is confirmed on `/iserver/reply/{replyid}`;
 * - `/iserver/reauthenticate` only starts a reauthentication: the auth status is polled until it says
 *   authenticated, within a bound of polls and time, and the call fails closed if it never does;
 * - fills (average price, commission) come from `/iserver/account/trades` (`trade.price` "Average Price",
 *   `trade.commission`), matched to the order by `order_ref` (the `cOID` it was placed with).
 */

/**
 * Questions execution may confirm, as phrases of IBKR's message text (the spec's question is `{ id, message }`:
 * no message id): missing market data, and the limit price away from the market (risk has already approved the
 * price). Matched case-insensitively; every message of a question must contain one.
 */
export const DEFAULT_CONFIRMABLE = [
  "without market data",
  "price exceeds the Percentage constraint",
] as const;
/** Shorter phrases would match nearly anything: they are ignored. */
const MIN_PHRASE = 8;
/** Reply rounds before giving up on a chained dialogue. */
const MAX_REPLY_ROUNDS = 5;
/** Position pages read at most (30 a page: 3,000 positions); more is refused rather than half-read. */
export const MAX_POSITION_PAGES = 100;
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

export type IbkrClient = ReturnType<typeof createIbkrClient>;

/** Phrases from a `|`-separated setting; too-short ones are dropped (an empty result confirms nothing). */
export function parseConfirmable(raw: string | undefined): readonly string[] {
  if (raw === undefined || raw.trim() === "") return DEFAULT_CONFIRMABLE;
  return raw
    .split("|")
    .map((p) => p.trim())
    .filter((p) => p.length >= MIN_PHRASE);
}

const norm = (s: string) => s.replace(/\s+/g, " ").trim().toLowerCase();

/** Order writes only: a lost answer to one of them may hide an order (outcome unknown, looked up later). */
function isOrderWrite(method: string, path: string): boolean {
  return method !== "GET" && /\/orders$|\/order\/|\/reply\//.test(path);
}

export function createIbkrClient(o: IbkrClientOptions) {
  const accessId = o.access?.clientId ?? "";
  const accessSecret = o.access?.clientSecret ?? "";
  const accessMismatch = (accessId === "") !== (accessSecret === "");
  const configured = o.gatewayUrl.length > 0 && o.accountId.length > 0;
  const base = `${o.gatewayUrl.replace(/\/+$/, "")}/v1/api`;
  const confirmable = (o.confirmable ?? DEFAULT_CONFIRMABLE).map(norm).filter((p) => p.length >= MIN_PHRASE);
  const reauth = { ...REAUTH_DEFAULTS, ...o.reauth };
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = o.now ?? Date.now;
  const acct = encodeURIComponent(o.accountId);

  // What this brokerage session has already done (a reauthentication starts a new session).
  let iserverAccounts: { selected: string | null } | null = null;
  let portfolioAccounts = false;
  let snapshot: Promise<
    VenueResult<{ live: v.InferOutput<typeof LiveOrders>; trades: v.InferOutput<typeof Trades> }>
  > | null = null;

  /** One request to the gateway with the Access token; a 2xx response unread, or why not. */
  async function send(method: string, path: string, body?: unknown): Promise<VenueResult<Response>> {
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
    if (!res.ok) {
      const message = await errorMessage(res);
      if (/already registered/i.test(message)) return verr("duplicate", message, res.status);
      return { ok: false, error: classifyStatus(res.status, message, write) };
    }
    return vok(res);
  }

  /** One request to the gateway, its answer parsed. */
  async function once<S extends v.GenericSchema>(
    method: string,
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<VenueResult<v.InferOutput<S>>> {
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
  }

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

  /** Walk the question/reply chain: confirm only questions every message of which is allowlisted. */
  async function settle(
    answer: v.InferOutput<typeof OrderAnswer>,
    rounds: number,
  ): Promise<VenueResult<{ orderId: string; status: string }>> {
    const first = answer[0];
    if (first?.order_id !== undefined)
      return vok({ orderId: String(first.order_id), status: first.order_status ?? "Submitted" });
    if (first?.id === undefined)
      return verr("outcome_unknown", "IBKR order answer names no order and asks nothing");
    const message = first.message ?? [];
    const allowlisted =
      message.length > 0 && message.every((m) => confirmable.some((p) => norm(m).includes(p)));
    const confirm = allowlisted && rounds < MAX_REPLY_ROUNDS;
    // A confirmation is an action: it happens only once the audit chain holds it (fail closed).
    const recorded = (await o.onQuestion?.({ message, confirmed: confirm })) ?? true;
    const reply = `/iserver/reply/${encodeURIComponent(first.id)}`;
    if (!confirm || !recorded) {
      // Answer "no" so the gateway drops the order rather than leaving it pending; the spec answers 400.
      await once("POST", reply, OrderAnswer, { confirmed: false });
      const why = !allowlisted
        ? "not on the confirm allowlist"
        : !recorded
          ? "the confirmation could not be audited"
          : "too many questions";
      return verr("question_refused", `IBKR asked "${message.join(" / ").slice(0, 300)}": ${why}`);
    }
    const next = await once("POST", reply, OrderAnswer, { confirmed: true });
    if (!next.ok) return next;
    return settle(next.value, rounds + 1);
  }

  /** Live orders and trades, read once per client (one sweep sees one picture). */
  function readSnapshot() {
    snapshot ??= session(async () => {
      const a = await ensureIserverAccounts();
      if (!a.ok) return a;
      const live = await once("GET", "/iserver/account/orders", LiveOrders);
      if (!live.ok) return live;
      // The spec advises calling trades once per session: once per snapshot, and only here.
      const sel = await ensureSelected();
      if (!sel.ok) return sel;
      const trades = await once("GET", "/iserver/account/trades", Trades);
      if (!trades.ok) return trades;
      return vok({ live: live.value, trades: trades.value });
    }).then((r) => {
      if (!r.ok) snapshot = null;
      return r;
    });
    return snapshot;
  }

  return {
    configured,
    /**
     * `GET /iserver/marketdata/snapshot` for these conids and fields, after `/iserver/accounts` as the spec
     * requires; the answer's bytes as received (the caller keeps them as evidence before parsing). The first
     * snapshot of a conid only starts its market data: its prices come in later calls.
     */
    async marketDataSnapshot(
      conids: number[],
      fields: readonly string[],
    ): Promise<VenueResult<{ url: string; status: number; contentType: string; bytes: Uint8Array }>> {
      const path = `/iserver/marketdata/snapshot?conids=${conids.join(",")}&fields=${fields.join(",")}`;
      return session(async () => {
        const a = await ensureIserverAccounts();
        if (!a.ok) return a;
        const sent = await send("GET", path);
        if (!sent.ok) return sent;
        const bytes = new Uint8Array(await sent.value.arrayBuffer());
        return vok({
          url: base + path,
          status: sent.value.status,
          contentType: sent.value.headers.get("content-type") ?? "application/octet-stream",
          bytes,
        });
      });
    },
    /** Keep the session alive; when the brokerage session has lapsed, reauthenticate (bounded). */
    async keepAlive(): Promise<VenueResult<{ authenticated: boolean; reauthenticated: boolean }>> {
      const t = await once("POST", "/tickle", v.unknown());
      if (!t.ok) return t;
      const s = await once("POST", "/iserver/auth/status", AuthStatus);
      if (!s.ok) return s;
      if (s.value.authenticated === true) return vok({ authenticated: true, reauthenticated: false });
      const re = await reauthenticate();
      return re.ok ? vok({ authenticated: true, reauthenticated: true }) : re;
    },
    async placeOrder(n: IbkrNewOrder): Promise<VenueResult<{ orderId: string; status: string }>> {
      return session(async () => {
        const a = await ensureIserverAccounts();
        if (!a.ok) return a;
        const r = await once("POST", `/iserver/account/${acct}/orders`, OrderAnswer, {
          orders: [
            {
              acctId: o.accountId,
              conid: n.conid,
              side: n.side === "buy" ? "BUY" : "SELL",
              orderType: "LMT",
              price: Number(n.price),
              quantity: n.quantity,
              tif: "DAY",
              cOID: n.cOID,
            },
          ],
        });
        if (!r.ok) return r;
        return settle(r.value, 0);
      });
    },
    /** Our order at the venue, by the cOID it was placed with (`order_ref`), or null when IBKR knows none. */
    async lookup(cOID: string): Promise<VenueResult<IbkrOrderReport | null>> {
      const s = await readSnapshot();
      if (!s.ok) return s;
      const row = (s.value.live.orders ?? []).find(
        (x) => x.order_ref === cOID && (x.acct === undefined || x.acct === o.accountId),
      );
      const executions = s.value.trades.filter(
        (t) => t.order_ref === cOID && (t.account === undefined || t.account === o.accountId),
      );
      if (!row && executions.length === 0) return vok(null);
      const { unpriced, ...fills } = fillOf(executions);
      return vok({
        orderId: row?.orderId === undefined ? null : String(row.orderId),
        status: row?.status ?? null,
        venueFilled: row?.filledQuantity ?? null,
        fills,
        unpriced,
      });
    },
    async cancelOrder(orderId: string): Promise<VenueResult<{ ok: true }>> {
      return session(async () => {
        const a = await ensureIserverAccounts();
        if (!a.ok) return a;
        const r = await once(
          "DELETE",
          `/iserver/account/${acct}/order/${encodeURIComponent(orderId)}`,
          v.unknown(),
        );
        return r.ok ? vok({ ok: true as const }) : r;
      });
    },
    /** Every position of the account, page by page until an empty page, after invalidating the cache. */
    async positions(): Promise<VenueResult<{ market: string; position: number }[]>> {
      return session(async () => {
        const a = await ensurePortfolioAccounts();
        if (!a.ok) return a;
        const inv = await once("POST", `/portfolio/${acct}/positions/invalidate`, v.unknown());
        if (!inv.ok) return inv;
        const seen = new Map<number, number>();
        for (let page = 0; page < MAX_POSITION_PAGES; page++) {
          const r = await once("GET", `/portfolio/${acct}/positions/${page}`, PositionPage);
          if (!r.ok) return r;
          if (r.value.length === 0)
            return vok([...seen].map(([conid, position]) => ({ market: String(conid), position })));
          for (const p of r.value) {
            if (p.conid === undefined || p.position === undefined)
              return verr("invalid_response", `IBKR position row on page ${page} has no conid or position`);
            if (p.acctId !== undefined && p.acctId !== o.accountId)
              return verr("invalid_response", `IBKR position row for account ${p.acctId} on page ${page}`);
            if (seen.has(p.conid))
              return verr("unavailable", `IBKR positions moved while paging (conid ${p.conid} seen twice)`);
            seen.set(p.conid, p.position);
          }
        }
        return verr("unavailable", `IBKR positions run past ${MAX_POSITION_PAGES} pages: not read half`);
      });
    },
  };
}
