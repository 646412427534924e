import { env, exports } from "cloudflare:workers";
import type {
  ApprovalReceiptRef,
  AuditEventInput,
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

interface AuditStub {
  stubEntries(): Promise<AuditEventInput[]>;
  stubVerification(value: unknown): Promise<void>;
  stubAnchorCalls(): Promise<unknown[]>;
  stubVerifyCalls(): Promise<unknown[]>;
  stubFail(value: boolean): Promise<void>;
  /** Every append waits this long first (a slow audit chain). */
  stubDelay(ms: number): Promise<void>;
  stubReset(): Promise<void>;
  stubStatus(value: unknown): Promise<void>;
  stubReceiptCheck(value: unknown): Promise<void>;
  stubReceiptCalls(): Promise<{ receipts: { seq: number; hash: string }[]; actor: Principal }[]>;
  /** The chain loses every entry after the first `n` (a truncation or a restored sequencer). */
  stubTruncate(n: number): Promise<void>;
}
interface GovernanceStub {
  stubCalls(): Promise<{ receipt: unknown; action: string; payload: unknown; actor: Principal }[]>;
  stubReturns(): Promise<{ receipt: unknown; reason: string; actor: Principal }[]>;
  stubAnswer(
    value: { ok: true; value: VerifiedApproval } | { ok: false; error: { code: string; message: string } },
  ): Promise<void>;
  stubReset(): Promise<void>;
}

export const testEnv = env as unknown as Env;
export const audit = () => testEnv.AUDIT as unknown as AuditStub;
export const governance = () => testEnv.GOVERNANCE as unknown as GovernanceStub;

export const operator: Principal = { method: "token", subject: "admin-token" };
export const strategyActor: Principal = { method: "system", subject: "execution" };
export const HASH = "b".repeat(64);

export async function entriesOf(type: string): Promise<AuditEventInput[]> {
  return (await audit().stubEntries()).filter((e) => e.type === type);
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
