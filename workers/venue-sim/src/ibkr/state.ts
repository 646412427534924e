import type { SimContext } from "../context";

/** The simulated brokerage accounts: ours, and a second one so "the currently selected account" matters. */
export const SIM_ACCOUNT = "DU1234567";
export const SIM_OTHER_ACCOUNT = "DU7654321";
export const SIM_ACCOUNTS = [SIM_ACCOUNT, SIM_OTHER_ACCOUNT] as const;
/** Sessions expire after about five minutes without a request (the spec's /tickle: "several minutes"). */
export const IDLE_MS = 5 * 60_000;
/** `/portfolio/{accountId}/positions/{pageId}`: "page's default size is 30 positions". */
export const POSITIONS_PAGE_SIZE = 30;

/**
 * The gateway's session. `ssoValid` is the login made at the gateway (username, password, second factor):
 * without it `/iserver/reauthenticate` cannot help (spec: "as long as there is a valid SSO session"). The
 * brokerage session (`authenticated`) lapses when idle and comes back asynchronously after a reauthenticate:
 * `reauthPending` status polls still answer false first (null: it never comes back). Each brokerage session
 * must query `/iserver/accounts` and `/portfolio/accounts` again before the calls the spec says need them.
 */
export interface Session {
  authenticated: boolean;
  connected: boolean;
  competing: boolean;
  ssoValid: boolean;
  lastSeen: number;
  reauthPending: number | null | undefined;
  /** Status polls a reauthenticate takes (default 1); null: it never completes. */
  reauthPolls: number | null;
  iserverAccounts: boolean;
  portfolioAccounts: boolean;
  selectedAccount: string;
  /** Conids whose market data this session has started (their next snapshot carries prices). */
  marketData?: number[];
}

/** An order's life at the simulated gateway; statuses are the spec's (`order.status`). */
export type SimStatus =
  | "PendingSubmit"
  | "PendingCancel"
  | "PreSubmitted"
  | "Submitted"
  | "Cancelled"
  | "Filled"
  | "Inactive";

export interface SimOrder {
  orderId: string;
  cOID: string;
  acct: string;
  conid: number;
  side: "BUY" | "SELL";
  price: number;
  quantity: number;
  tif: string;
  status: SimStatus;
  filled: number;
  /** ms of the last status change, for `lastExecutionTime_r`. */
  at: number;
}

/** One execution, as `/iserver/account/trades` reports it. */
export interface SimExecution {
  executionId: string;
  orderId: string;
  cOID: string;
  acct: string;
  conid: number;
  side: "BUY" | "SELL";
  size: number;
  /** Dollars, 2 decimals. */
  price: string;
  /** Dollars. */
  commission: number;
  at: number;
}

/** How a confirmed order trades: fill now (two executions), rest unfilled, or fill half and keep working. */
export type FillMode = "fill" | "rest" | "partial";

export interface Behaviour {
  /** Question texts every order is asked (one question, its `message` array), never empty. */
  questions: string[];
  fill: FillMode;
  /** While true, executions are kept out of `/iserver/account/trades` (reports lag the order status). */
  tradesHidden: boolean;
  /** Field names the simulator leaves out of every answer, load-bearing ones included (tests of absence). */
  sparse: string[];
  /** Cloudflare Access service token the gateway's hostname demands (null: no Access in front). */
  access: { clientId: string; clientSecret: string } | null;
}

/** The warnings IBKR asks about, in IBKR's words (ids are the simulator's own handles, never served). */
export const QUESTION_TEXT: Record<string, string> = {
  o354: "You are submitting an order without market data. We strongly recommend against this as it may result in suboptimal executions. Are you sure you want to submit this order?",
  o163: "The following order price exceeds the Percentage constraint of 3%. Are you sure you want to submit this order?",
  o383: "The following order size exceeds the Size Limit. Are you sure you want to submit this order?",
  o10331:
    "You are about to submit a stop order. Please be aware of the various stop order types available. Are you sure you want to submit this order?",
};

export const DEFAULT_BEHAVIOUR: Behaviour = {
  questions: [QUESTION_TEXT.o354!],
  fill: "fill",
  tradesHidden: false,
  sparse: [],
  access: null,
};

export async function behaviour(sim: SimContext): Promise<Behaviour> {
  return { ...DEFAULT_BEHAVIOUR, ...((await sim.storage.get<Partial<Behaviour>>("ibkr:behaviour")) ?? {}) };
}

export async function loadSession(sim: SimContext): Promise<Session> {
  const s: Session = {
    authenticated: true,
    connected: true,
    competing: false,
    ssoValid: true,
    lastSeen: sim.now(),
    reauthPending: undefined,
    reauthPolls: 1,
    iserverAccounts: false,
    portfolioAccounts: false,
    selectedAccount: SIM_ACCOUNT,
    ...((await sim.storage.get<Partial<Session>>("ibkr:session")) ?? {}),
  };
  if (s.authenticated && sim.now() - s.lastSeen > IDLE_MS) lapse(s);
  return s;
}

/** The brokerage session ends: what it had queried is forgotten with it. */
export function lapse(s: Session): void {
  s.authenticated = false;
  s.iserverAccounts = false;
  s.portfolioAccounts = false;
  s.marketData = [];
  s.reauthPending = undefined;
}

/** FNV-1a, for stable per-row choices. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * A row with its optional fields sometimes absent, as the spec allows for every field it names: each field
 * outside `keep` is left out of about one row in three (a stable choice per row, so a row reads the same on
 * every call). `keep` are the fields IBKR always sends for the row to mean anything (its ids and quantities);
 * the `sparse` switch drops those too, for tests of what the client does without them.
 */
export function withOptionalGaps<T extends Record<string, unknown>>(
  row: T,
  rowKey: string,
  keep: readonly string[],
  b: Behaviour,
  seed: number,
): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (v === undefined || b.sparse.includes(k)) continue;
    if (!keep.includes(k) && hash(`${seed}:${rowKey}:${k}`) % 3 === 0) continue;
    out[k] = v;
  }
  return out as Partial<T>;
}

/** IBKR Pro fixed pricing, as the simulator charges it: USD 0.005 a share, at least USD 1.00 an order. */
export function commissionFor(size: number, firstOfOrder: boolean): number {
  const perShare = Math.round(size * 0.005 * 10_000) / 10_000;
  return firstOfOrder ? Math.max(1, perShare) : perShare;
}

export async function saveSession(sim: SimContext, s: Session): Promise<void> {
  await sim.storage.put("ibkr:session", s);
}

/** The simulated position in one contract (0 when none). */
export async function positionOf(sim: SimContext, conid: number): Promise<number> {
  return (await sim.storage.get<number>(`ibkr:pos:${conid}`)) ?? 0;
}

/** Every order the simulator holds. */
export async function orders(sim: SimContext): Promise<SimOrder[]> {
  return [...(await sim.storage.list<SimOrder>({ prefix: "ibkr:order:" })).values()];
}
