// Governance's double: a desk whose receipts a test mints (single use, for one action and payload), or whose
// redeem answer a test plants; strategies and pairs as the test sets them.
import type {
  ApprovalReceiptRef,
  GovernanceRpc,
  PairCandidate,
  Principal,
  Result,
  StrategySummary,
  TradablePair,
  VerifiedApproval,
} from "@paulp/contracts";
import { doubleOf, err, Ledger, ok } from "./ledger";

export interface GovernanceDoubleState {
  /** Minted receipts by request id: only `token` redeems, once, for `action` and `payload`. */
  receipts: Map<string, { token: string | null; action: string; payload: unknown; used: boolean }>;
  /**
   * When set, redeemReceipt answers this whatever the receipt, and returnReceipt gives any receipt back (a desk
   * a test scripts); when null, the minted receipts decide.
   */
  redeemAnswer: Result<VerifiedApproval> | null;
  strategies: StrategySummary[];
  pairs: TradablePair[];
  /** Strategy ids getStrategy does not know (any other id is a paper strategy). */
  unknownStrategies: string[];
  /** Every call answers `service_unavailable`. */
  failing: boolean;
}

const fresh = (): GovernanceDoubleState => ({
  receipts: new Map(),
  redeemAnswer: null,
  strategies: [],
  pairs: [],
  unknownStrategies: [],
  failing: false,
});
const ledger = new Ledger(fresh);
const down = <T>(): Result<T> => err("service_unavailable", "governance double told to fail");

type Doubled = Pick<
  GovernanceRpc,
  | "health"
  | "redeemReceipt"
  | "returnReceipt"
  | "proposePairs"
  | "tradablePairs"
  | "activeStrategies"
  | "getStrategy"
>;

export default class GovernanceDouble extends doubleOf("governance", ledger) implements Doubled {
  /** The arguments are the contract's own, so the double cannot drift from what callers send. */
  async redeemReceipt(
    ...[receipt, action, payload, actor]: Parameters<GovernanceRpc["redeemReceipt"]>
  ): ReturnType<GovernanceRpc["redeemReceipt"]> {
    ledger.record("redeemReceipt", { receipt, action, payload, actor });
    const s = ledger.state;
    if (s.failing) return down();
    if (s.redeemAnswer) return s.redeemAnswer;
    const r = s.receipts.get(receipt.requestId);
    if (!r || r.token !== receipt.receiptToken) return err("forbidden", "unknown receipt");
    if (r.used) return err("conflict", "receipt already executed");
    if (r.action !== action || JSON.stringify(r.payload) !== JSON.stringify(payload))
      return err("forbidden", "receipt is for another action or payload");
    r.used = true;
    return ok({
      requestId: receipt.requestId,
      action,
      payloadHash: "0".repeat(64),
      policyVersion: 1,
      approvers: ["a@x.test", "b@x.test"],
      requestedBy: "a@x.test",
    });
  }
  /**
   * Like the desk: only the token that executed it gives it back, once; the request is approved again with no
   * live token (a person reissues).
   */
  async returnReceipt(
    receipt: ApprovalReceiptRef,
    reason: string,
    actor: Principal,
  ): Promise<Result<{ requestId: string; status: "approved" }>> {
    ledger.record("returnReceipt", { receipt, reason, actor });
    const s = ledger.state;
    if (s.failing) return down();
    if (!s.redeemAnswer) {
      const r = s.receipts.get(receipt.requestId);
      if (!r || r.token !== receipt.receiptToken || !r.used)
        return err("approval_required", "not the receipt that executed it");
      r.used = false;
      r.token = null;
    }
    return ok({ requestId: receipt.requestId, status: "approved" });
  }
  async proposePairs(
    candidates: PairCandidate[],
    actor: Principal,
  ): Promise<Result<{ created: number; lapsed: number; refused: number; rekeyed: number }>> {
    ledger.record("proposePairs", { candidates, actor });
    return ledger.state.failing
      ? down()
      : ok({ created: candidates.length, lapsed: 0, refused: 0, rekeyed: 0 });
  }
  async tradablePairs(): Promise<Result<TradablePair[]>> {
    return ledger.state.failing ? down() : ok(ledger.state.pairs);
  }
  async activeStrategies(): Promise<Result<StrategySummary[]>> {
    return ledger.state.failing ? down() : ok(ledger.state.strategies);
  }
  async getStrategy(strategyId: string): Promise<Result<StrategySummary>> {
    const s = ledger.state;
    if (s.failing) return down();
    if (s.unknownStrategies.includes(strategyId)) return err("not_found", `no strategy ${strategyId}`);
    return ok(
      s.strategies.find((x) => x.id === strategyId) ?? {
        id: strategyId,
        name: strategyId,
        kind: "test",
        state: "paper",
        allocation: "1000",
        venues: ["kalshi"],
        params: {},
      },
    );
  }

  // ---- test controls beyond the shared ones ----
  /** A receipt the desk issued: `token` redeems it once, for exactly `action` and `payload`. */
  async _mint(requestId: string, token: string, action: string, payload: unknown): Promise<void> {
    ledger.state.receipts.set(requestId, { token, action, payload, used: false });
  }
}
