import { env, exports } from "cloudflare:workers";
import type {
  ApprovalReceiptRef,
  AuditReceipt,
  AuditVerifyOptions,
  AuditWatchOutcome,
  BreakerState,
  BreakerStatus,
  MarkUpdate,
  OrderIntent,
  Principal,
  Result,
  RiskRpc,
  VerifiedApproval,
} from "@paulp/contracts";
import type { AuditDouble, DoubleCall, GovernanceDouble, RecordedEvent } from "@paulp/testing/doubles";
import type { Env } from "../src/env";

/** The risk worker under test, over its real RPC entrypoint. */
export const risk = () => (exports as unknown as { default: RiskRpc }).default;

/** Risk's audit watch (the 5-minute cron's work), called directly. */
export const watchAudit = () =>
  (
    risk() as unknown as {
      watchAudit(): Promise<{ ok: true; value: AuditWatchOutcome } | { ok: false; error: unknown }>;
    }
  ).watchAudit();

/** The breaker as risk reports it (a failed read fails the test). */
export async function breakerStatus(): Promise<BreakerStatus> {
  const r = await risk().getBreaker();
  if (!r.ok) throw new Error("breaker unreadable");
  return r.value;
}

export const testEnv = env as unknown as Env;
/** The typed doubles of @paulp/testing behind risk's AUDIT and GOVERNANCE bindings, with their test controls. */
export const audit = () => testEnv.AUDIT as unknown as AuditDouble;
export const governance = () => testEnv.GOVERNANCE as unknown as GovernanceDouble;

/** The calls one double method received, without the method name. */
async function callsOf<T>(
  double: { _calls(method: string): Promise<DoubleCall[]> },
  method: string,
): Promise<T[]> {
  return (await double._calls(method)).map(({ method: _, ...fields }) => fields as T);
}
/** Who asked the audit double to anchor, oldest first. */
export const anchorActors = async () =>
  (await callsOf<{ actor: Principal }>(audit(), "anchorNow")).map((c) => c.actor);
/** The options of every verify the audit double answered. */
export const verifyOptions = async () =>
  (await callsOf<{ options: AuditVerifyOptions }>(audit(), "verify")).map((c) => c.options);
export const receiptChecks = () =>
  callsOf<{ receipts: AuditReceipt[]; actor: Principal }>(audit(), "checkReceipts");
export const redeemCalls = () =>
  callsOf<{ receipt: ApprovalReceiptRef; action: string; payload: unknown; actor: Principal }>(
    governance(),
    "redeemReceipt",
  );
export const returnedReceipts = () =>
  callsOf<{ receipt: ApprovalReceiptRef; reason: string; actor: Principal }>(governance(), "returnReceipt");

export const operator: Principal = { method: "token", subject: "admin-token" };
export const strategyActor: Principal = { method: "system", subject: "execution" };
export const HASH = "b".repeat(64);

export async function entriesOf(type: string): Promise<RecordedEvent[]> {
  return (await audit()._events()).filter((e) => e.type === type);
}

export function freshMark(
  market: string,
  price: string | null,
  opts: { category?: string | null; agoMs?: number } = {},
): MarkUpdate {
  return {
    venue: "kalshi",
    market,
    price,
    category: opts.category === undefined ? "politics" : opts.category,
    evidenceHash: HASH,
    observedAt: new Date(Date.now() - (opts.agoMs ?? 0)).toISOString(),
  };
}

export const approval = (action: VerifiedApproval["action"]): VerifiedApproval => ({
  requestId: "req-1",
  action,
  payloadHash: "c".repeat(64),
  policyVersion: 1,
  approvers: ["a@example.com", "b@example.com"],
  requestedBy: "a@example.com",
});

/**
 * Intents for one test file: a buy that opens `market` for `strategyId`, with a client order id unique to the
 * run (`<prefix>-<time>-<n>`); `overrides` replace any field.
 */
export function intentMaker(prefix: string, base: { strategyId: string; market: string; quantity: number }) {
  let n = 0;
  return (overrides: Partial<OrderIntent> = {}): OrderIntent => ({
    strategyId: base.strategyId,
    venue: "kalshi",
    market: base.market,
    side: "buy",
    effect: "open",
    quantity: base.quantity,
    limitPrice: "0.50",
    clientOrderId: `${prefix}-${Date.now()}-${++n}`,
    evidenceHashes: [HASH],
    ...overrides,
  });
}

/**
 * A breaker transition naming the version read just before it, as the CLI and the console do (every
 * transition but HALT must name the version it acts on).
 */
export async function transitionAtCurrent(
  targetState: BreakerState,
  reason: string,
  actor: Principal = operator,
  receipt?: ApprovalReceiptRef,
): Promise<Result<BreakerStatus>> {
  const now = await risk().getBreaker();
  if (!now.ok) throw new Error(now.error.message);
  return risk().transitionBreaker(
    { targetState, reason, expectedVersion: now.value.version },
    actor,
    receipt,
  );
}
