import type { EgressFetch } from "@paulp/kit";
import * as v from "valibot";
import { classifyStatus, classifyThrown, errorMessage, type VenueResult, verr, vok } from "./result";

/**
 * IBKR Client Portal Web API client (IBKR Campus Web API docs; Voyz/ibind). It talks to a Client Portal
 * Gateway the operator runs and logs in (IBKR_USERNAME / IBKR_PASSWORD + 2FA are used there, never here),
 * reached through a Cloudflare Tunnel at IBKR_GATEWAY_URL. An order may answer with questions; only message
 * ids in the allowlist are confirmed, anything else is refused (`question_refused`) and the order dropped.
 */

/** Questions execution may confirm: missing market data (o354) and the price-percentage warning (o163). */
export const DEFAULT_CONFIRMABLE = ["o354", "o163"] as const;
/** Reply rounds before giving up on a chained dialogue. */
const MAX_REPLY_ROUNDS = 5;

const AuthStatus = v.object({
  authenticated: v.boolean(),
  competing: v.optional(v.boolean()),
  connected: v.optional(v.boolean()),
});
const Question = v.object({
  id: v.string(),
  message: v.optional(v.array(v.string())),
  messageIds: v.optional(v.array(v.string())),
});
const Placed = v.object({
  order_id: v.union([v.string(), v.number()]),
  order_status: v.optional(v.string()),
});
const Cancelled = v.object({ order_status: v.literal("Cancelled") });
const ReplyAnswer = v.array(v.union([Placed, Question, Cancelled]));
const LiveOrders = v.object({
  orders: v.optional(
    v.array(
      v.object({
        orderId: v.union([v.number(), v.string()]),
        order_ref: v.optional(v.string()),
        conid: v.union([v.number(), v.string()]),
        status: v.string(),
        filledQuantity: v.optional(v.union([v.number(), v.string()])),
        totalSize: v.optional(v.union([v.number(), v.string()])),
        price: v.optional(v.union([v.number(), v.string()])),
      }),
    ),
  ),
});
const PositionRows = v.array(v.object({ conid: v.union([v.number(), v.string()]), position: v.number() }));

/** An IBKR order in our terms: `conid` is the contract id, `price` a decimal string. */
export interface IbkrNewOrder {
  conid: number;
  side: "buy" | "sell";
  quantity: number;
  price: string;
  cOID: string;
}

/** A live order as the order manager needs it. */
export interface IbkrOrderView {
  orderId: string;
  cOID: string | null;
  status: string;
  filled: number;
  total: number;
  price: string | null;
}

export interface IbkrClientOptions {
  gatewayUrl: string;
  accountId: string;
  fetch: EgressFetch;
  confirmable?: readonly string[];
  /** Called for each question seen, confirmed or not (the caller audits it). */
  /** Returns false when the question could not be recorded: then it is refused, whatever it asks. */
  onQuestion?: (q: { messageIds: string[]; message: string[]; confirmed: boolean }) => Promise<boolean>;
}

export type IbkrClient = ReturnType<typeof createIbkrClient>;

export function createIbkrClient(o: IbkrClientOptions) {
  const configured = o.gatewayUrl.length > 0 && o.accountId.length > 0;
  const base = `${o.gatewayUrl.replace(/\/+$/, "")}/v1/api`;
  const confirmable = new Set(o.confirmable ?? DEFAULT_CONFIRMABLE);

  /**
   * A request to the gateway. The brokerage session logs out after minutes idle, answering 401 to everything
   * but the auth endpoints; a 401 is followed by one `POST /iserver/reauthenticate` and one retry. A 401 means
   * the gateway refused the request before acting on it, so retrying a write cannot double it.
   */
  async function call<S extends v.GenericSchema>(
    method: string,
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<VenueResult<v.InferOutput<S>>> {
    const first = await callOnce(method, path, schema, body);
    if (first.ok || first.error.status !== 401 || path.startsWith("/iserver/auth") || path === "/tickle")
      return first;
    const re = await callOnce(
      "POST",
      "/iserver/reauthenticate",
      v.object({ message: v.optional(v.string()) }),
    );
    if (!re.ok) return verr("auth", `IBKR gateway session is not authenticated: ${re.error.message}`, 401);
    return callOnce(method, path, schema, body);
  }

  async function callOnce<S extends v.GenericSchema>(
    method: string,
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<VenueResult<v.InferOutput<S>>> {
    if (!configured) return verr("not_configured", "IBKR_GATEWAY_URL / IBKR_ACCOUNT_ID not set");
    const write = method !== "GET" && !path.startsWith("/tickle") && !path.startsWith("/iserver/auth");
    let res: Response;
    try {
      res = await o.fetch(base + path, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      return { ok: false, error: classifyThrown(e, write) };
    }
    if (!res.ok) {
      const message = await errorMessage(res);
      if (/already registered/i.test(message)) return verr("duplicate", message, res.status);
      return { ok: false, error: classifyStatus(res.status, message, write) };
    }
    const raw = await res.json().catch(() => null);
    if (
      raw &&
      typeof raw === "object" &&
      !Array.isArray(raw) &&
      typeof (raw as { error?: unknown }).error === "string"
    ) {
      const message = (raw as { error: string }).error;
      return verr(/already registered/i.test(message) ? "duplicate" : "rejected", message, res.status);
    }
    const parsed = v.safeParse(schema, raw);
    if (!parsed.success)
      return verr(write ? "outcome_unknown" : "invalid_response", `unexpected IBKR response to ${path}`);
    return vok(parsed.output);
  }

  /** Walk the question/reply chain: confirm only allowlisted message ids. */
  async function settle(
    answer: v.InferOutput<typeof ReplyAnswer>,
    rounds: number,
  ): Promise<VenueResult<{ orderId: string; status: string }>> {
    const first = answer[0];
    if (!first) return verr("outcome_unknown", "empty IBKR order answer");
    if ("order_id" in first)
      return vok({ orderId: String(first.order_id), status: first.order_status ?? "Submitted" });
    if ("order_status" in first) return verr("rejected", "order cancelled by the gateway");
    const ids = first.messageIds ?? [];
    const allowlisted = ids.length > 0 && ids.every((id) => confirmable.has(id));
    // A confirmation is an action: it happens only once the audit chain holds it (fail closed).
    const recorded =
      (await o.onQuestion?.({
        messageIds: ids,
        message: first.message ?? [],
        confirmed: allowlisted && rounds < MAX_REPLY_ROUNDS,
      })) ?? true;
    const allowed = allowlisted && recorded;
    if (!recorded && allowlisted) {
      await call("POST", `/iserver/reply/${encodeURIComponent(first.id)}`, ReplyAnswer, { confirmed: false });
      return verr("question_refused", `IBKR asked ${ids.join(",")}: the confirmation could not be audited`);
    }
    if (!allowed) {
      // Answer "no" so the gateway drops the order rather than leaving it pending.
      await call("POST", `/iserver/reply/${encodeURIComponent(first.id)}`, ReplyAnswer, { confirmed: false });
      return verr(
        "question_refused",
        `IBKR asked ${ids.join(",") || "(no id)"}: not on the confirm allowlist`,
      );
    }
    if (rounds >= MAX_REPLY_ROUNDS) return verr("question_refused", "too many IBKR questions");
    const next = await call("POST", `/iserver/reply/${encodeURIComponent(first.id)}`, ReplyAnswer, {
      confirmed: true,
    });
    if (!next.ok) return next;
    return settle(next.value, rounds + 1);
  }

  return {
    configured,
    async authStatus(): Promise<VenueResult<{ authenticated: boolean }>> {
      const r = await call("POST", "/iserver/auth/status", AuthStatus);
      return r.ok ? vok({ authenticated: r.value.authenticated }) : r;
    },
    /** Keep the brokerage session alive (the gateway logs out after ~5 minutes idle). */
    async tickle(): Promise<VenueResult<{ authenticated: boolean }>> {
      const r = await call(
        "POST",
        "/tickle",
        v.object({ iserver: v.optional(v.object({ authStatus: v.optional(AuthStatus) })) }),
      );
      return r.ok ? vok({ authenticated: r.value.iserver?.authStatus?.authenticated ?? false }) : r;
    },
    async placeOrder(n: IbkrNewOrder): Promise<VenueResult<{ orderId: string; status: string }>> {
      // An idle-logged-out session answers 401 before acting; `call` reauthenticates and retries once.
      const r = await call(
        "POST",
        `/iserver/account/${encodeURIComponent(o.accountId)}/orders`,
        ReplyAnswer,
        {
          orders: [
            {
              conid: n.conid,
              side: n.side === "buy" ? "BUY" : "SELL",
              orderType: "LMT",
              price: Number(n.price),
              quantity: n.quantity,
              tif: "DAY",
              cOID: n.cOID,
            },
          ],
        },
      );
      if (!r.ok) return r;
      return settle(r.value, 0);
    },
    async findByCOID(cOID: string): Promise<VenueResult<IbkrOrderView | null>> {
      const r = await this.orders();
      return r.ok ? vok(r.value.find((x) => x.cOID === cOID) ?? null) : r;
    },
    async orders(): Promise<VenueResult<IbkrOrderView[]>> {
      const r = await call("GET", "/iserver/account/orders", LiveOrders);
      if (!r.ok) return r;
      return vok(
        (r.value.orders ?? []).map((x) => ({
          orderId: String(x.orderId),
          cOID: x.order_ref ?? null,
          status: x.status,
          filled: Math.trunc(Number(x.filledQuantity ?? 0)),
          total: Math.trunc(Number(x.totalSize ?? 0)),
          price: x.price === undefined ? null : String(x.price),
        })),
      );
    },
    async cancelOrder(orderId: string): Promise<VenueResult<{ ok: true }>> {
      const r = await call(
        "DELETE",
        `/iserver/account/${encodeURIComponent(o.accountId)}/order/${encodeURIComponent(orderId)}`,
        v.unknown(),
      );
      return r.ok ? vok({ ok: true as const }) : r;
    },
    async positions(): Promise<VenueResult<{ market: string; position: number }[]>> {
      const r = await call("GET", `/portfolio/${encodeURIComponent(o.accountId)}/positions/0`, PositionRows);
      return r.ok ? vok(r.value.map((p) => ({ market: String(p.conid), position: p.position }))) : r;
    },
  };
}
