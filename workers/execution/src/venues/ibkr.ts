import * as v from "valibot";
import { createIbkrSession, type IbkrClientOptions } from "./ibkr-session";
import {
  AuthStatus,
  fillOf,
  type IbkrNewOrder,
  type IbkrOrderReport,
  LiveOrders,
  OrderAnswer,
  PositionPage,
  Trades,
} from "./ibkr-wire";
import { type VenueResult, verr, vok } from "./result";

export { type IbkrClientOptions, REAUTH_DEFAULTS } from "./ibkr-session";
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

export function createIbkrClient(o: IbkrClientOptions) {
  // One gateway session per client: its prerequisites are done once and redone after a reauthentication.
  const gw = createIbkrSession(o);
  const confirmable = (o.confirmable ?? DEFAULT_CONFIRMABLE).map(norm).filter((p) => p.length >= MIN_PHRASE);
  let snapshot: Promise<
    VenueResult<{ live: v.InferOutput<typeof LiveOrders>; trades: v.InferOutput<typeof Trades> }>
  > | null = null;

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
      await gw.once("POST", reply, OrderAnswer, { confirmed: false });
      const why = !allowlisted
        ? "not on the confirm allowlist"
        : !recorded
          ? "the confirmation could not be audited"
          : "too many questions";
      return verr("question_refused", `IBKR asked "${message.join(" / ").slice(0, 300)}": ${why}`);
    }
    const next = await gw.once("POST", reply, OrderAnswer, { confirmed: true });
    if (!next.ok) return next;
    return settle(next.value, rounds + 1);
  }

  /** Live orders and trades, read once per client (one sweep sees one picture). */
  function readSnapshot() {
    snapshot ??= gw
      .session(async () => {
        const a = await gw.ensureIserverAccounts();
        if (!a.ok) return a;
        const live = await gw.once("GET", "/iserver/account/orders", LiveOrders);
        if (!live.ok) return live;
        // The spec advises calling trades once per session: once per snapshot, and only here.
        const sel = await gw.ensureSelected();
        if (!sel.ok) return sel;
        const trades = await gw.once("GET", "/iserver/account/trades", Trades);
        if (!trades.ok) return trades;
        return vok({ live: live.value, trades: trades.value });
      })
      .then((r) => {
        if (!r.ok) snapshot = null;
        return r;
      });
    return snapshot;
  }

  return {
    configured: gw.configured,
    /**
     * `GET /iserver/marketdata/snapshot` for these conids and fields, after `/iserver/accounts` as the spec
     * requires; the answer's bytes as received, whatever its status (the caller keeps them as evidence before
     * parsing, and reads only a 2xx). The first snapshot of a conid only starts its market data: its prices come
     * in later calls.
     */
    async marketDataSnapshot(
      conids: number[],
      fields: readonly string[],
    ): Promise<VenueResult<{ url: string; status: number; contentType: string; bytes: Uint8Array }>> {
      const path = `/iserver/marketdata/snapshot?conids=${conids.join(",")}&fields=${fields.join(",")}`;
      return gw.session(async () => {
        const a = await gw.ensureIserverAccounts();
        if (!a.ok) return a;
        // A refusal (a 429 of the snapshot's pacing, a 5xx) is handed on too: ingestion keeps its bytes as evidence.
        const sent = await gw.send("GET", path, undefined, { keepAnswer: true });
        if (!sent.ok) return sent;
        const bytes = new Uint8Array(await sent.value.arrayBuffer());
        return vok({
          url: gw.base + path,
          status: sent.value.status,
          contentType: sent.value.headers.get("content-type") ?? "application/octet-stream",
          bytes,
        });
      });
    },
    /** Keep the session alive; when the brokerage session has lapsed, reauthenticate (bounded). */
    async keepAlive(): Promise<VenueResult<{ authenticated: boolean; reauthenticated: boolean }>> {
      const t = await gw.once("POST", "/tickle", v.unknown());
      if (!t.ok) return t;
      const s = await gw.once("POST", "/iserver/auth/status", AuthStatus);
      if (!s.ok) return s;
      if (s.value.authenticated === true) return vok({ authenticated: true, reauthenticated: false });
      const re = await gw.reauthenticate();
      return re.ok ? vok({ authenticated: true, reauthenticated: true }) : re;
    },
    async placeOrder(n: IbkrNewOrder): Promise<VenueResult<{ orderId: string; status: string }>> {
      return gw.session(async () => {
        const a = await gw.ensureIserverAccounts();
        if (!a.ok) return a;
        const r = await gw.once("POST", `/iserver/account/${gw.acct}/orders`, OrderAnswer, {
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
      return gw.session(async () => {
        const a = await gw.ensureIserverAccounts();
        if (!a.ok) return a;
        const r = await gw.once(
          "DELETE",
          `/iserver/account/${gw.acct}/order/${encodeURIComponent(orderId)}`,
          v.unknown(),
        );
        return r.ok ? vok({ ok: true as const }) : r;
      });
    },
    /** Every position of the account, page by page until an empty page, after invalidating the cache. */
    async positions(): Promise<VenueResult<{ market: string; position: number }[]>> {
      return gw.session(async () => {
        const a = await gw.ensurePortfolioAccounts();
        if (!a.ok) return a;
        const inv = await gw.once("POST", `/portfolio/${gw.acct}/positions/invalidate`, v.unknown());
        if (!inv.ok) return inv;
        const seen = new Map<number, number>();
        for (let page = 0; page < MAX_POSITION_PAGES; page++) {
          const r = await gw.once("GET", `/portfolio/${gw.acct}/positions/${page}`, PositionPage);
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
