// Over 400 lines on purpose: the catalog is data, one entry per event type with its payload, in one list.
// The catalog of audit events: every event type the mesh appends, the service that emits it, and its payload.
// Workers append through kit's `auditAppend` / `auditAppendMany`, typed by this catalog, so an event whose
// type, service or payload drifts fails to compile at its emit site. The audit worker itself stays generic:
// it records any dotted type with a JSON payload (its input schema is `AuditEventInput` in audit.ts).

import type { ApprovalAction, ApprovalStatus, VerifiedApproval } from "./approval-requests";
import type { BreakerState } from "./breaker";
import type { JsonValue, Principal, Venue } from "./common";
import type { ComplianceRule } from "./compliance-rules";
import type {
  ExecutionPolicyChange,
  HedgeObligationView,
  OrderContext,
  ReconciliationReport,
  TradingLoopReport,
} from "./execution";
import type { AssessmentUsage, PairGrade, PairVerdict, StrategyState } from "./governance";
import type { MarketVenue } from "./ingestion";
import type { AlertKind, AlertSeverity } from "./monitor";
import type { OrderIntent, RiskDecision } from "./risk";
import type { RiskLimits } from "./risk-admin";

/** The two-person approval an applied change names in the chain: its request and who approved it. */
export type AppliedApproval = Pick<VerifiedApproval, "requestId" | "approvers">;

/** What every approval-desk event says about its request (`by`: the person who took the step, if any). */
export interface ApprovalEventBody {
  requestId: string;
  action: ApprovalAction;
  payloadHash: string;
  policyVersion: number;
  status: ApprovalStatus;
  requestedBy: string;
  by: string | null;
}

/** Where an order stands after a venue fact (or a paper fill). */
interface OrderOutcome {
  clientOrderId: string;
  state: string;
  filled: number;
  /** Average fill price, a decimal string (null before any fill). */
  avgPrice: string | null;
  venueOrderId: string | null;
}

/** A venue response refused at ingestion (an HTTP failure, or a body that is not JSON or fails its schema). */
interface ResponseRejected {
  venue: Venue;
  url: string;
  kind: string;
  status?: number | null;
  evidenceHash: string | null;
  attempts?: number;
  detail: string;
}

/** An alert as the chain keeps it at each change (`monitor.alert_<action>`). */
interface AlertEvent {
  key: string;
  kind: AlertKind;
  severity: AlertSeverity;
  title: string;
  detail: string;
  labels: Record<string, string>;
  raisedAt: string;
}

/** A strategy move or allocation change; `detail` fields depend on the move (see governance's strategies). */
interface StrategyChanged {
  strategyId: string;
  version: number;
  from?: StrategyState;
  to?: StrategyState;
  requestId?: string;
  requestStatus?: string;
  approvers?: string[];
  allocationFrom?: string;
  allocationTo?: string;
}

/** A terms hash before and after a re-proposal. */
interface HashMove {
  from: string;
  to: string;
}

/**
 * Every audit event, by the service that emits it, then by type: the payload it carries. Types are dotted
 * lower-case (the audit worker refuses anything else); a new event is added here before it is emitted.
 */
export interface AuditEventCatalog {
  gateway: {
    /** One admin request: who, which route, the status and its outcome. */
    "gateway.admin_request": AdminRequestEvent;
    /** An admin request refused by the per-client auth rate limit (with the client to look at). */
    "gateway.auth_rate_limited": AdminRequestEvent;
    /** An evidence export was asked for (before a byte is sent: no unaudited export). */
    "gateway.evidence_export_requested": EvidenceExportEvent;
    /** An export's stream ended: complete (with the trailer's counts) or cut off (why, naming the object). */
    "gateway.evidence_export_ended": EvidenceExportEvent & {
      outcome: "complete" | "failed";
      objects: number;
      sightings: number;
      failure: string | null;
    };
    /**
     * Admin request records the gateway's outbox could not keep (it was full, or the chain refused one): how
     * many, and when the first and last were dropped. The gap in the chain is itself on the chain.
     */
    "gateway.admin_audit_dropped": { dropped: number; firstDroppedAt: string; lastDroppedAt: string };
  };
  ingestion: {
    "compliance.rules_updated": {
      fromVersion: number;
      version: number;
      rulesHash: string;
      ruleIds: string[];
      /** The whole rule set when it fits the payload limit (the hash binds it either way). */
      rules: ComplianceRule[] | null;
    };
    "compliance.rules_update_lost": { version: number; reason: string };
    /** One market blocked by a compliance rule. */
    "compliance.blocked": {
      venue: MarketVenue;
      marketId: string;
      title: string;
      rule: ComplianceRule;
      rulesVersion: number;
      evidenceHash: string;
    };
    "compliance.denied": {
      venue: MarketVenue;
      evidenceHash: string;
      count: number;
      reason: string;
      marketIds: string[];
    };
    "ingestion.response_rejected": ResponseRejected;
    "ingestion.evidence_failed": ResponseRejected;
    "ingestion.store_failed": { venue: MarketVenue; url: string; evidenceHash: string; detail: string };
    "ingestion.markets_skipped": {
      venue: MarketVenue;
      url: string;
      evidenceHash: string;
      count: number;
      reasons: Record<string, number>;
      markets: { id: string; reason: string; detail: string | null }[];
    };
    "ingestion.markets_closed": {
      venue: MarketVenue;
      passStartedAt: string;
      checked: number;
      count: number;
      statuses: Record<string, number>;
      markets: { id: string; status: string }[];
    };
    "ingestion.compliance_unavailable": { venue: MarketVenue; detail: string };
    /** Evidence kept in R2 whose D1 record was lost (an isolate ended between the two), recorded by the index audit. */
    "ingestion.evidence_recovered": {
      hash: string;
      venue: string;
      url: string;
      status: number;
      size: number;
      fetchedAt: string;
    };
    /** An object in the evidence bucket the index audit cannot vouch for (never recorded). */
    "ingestion.evidence_unvouched": { key: string; size: number; uploadedAt: string; detail: string };
    /** A replay was asked for (before it starts: no unaudited replay runs). */
    "ingestion.replay_requested": {
      replayId: string;
      strategyId: string;
      paramsHash: string;
      window: { from: string; to: string };
      latencyMs: number;
    };
    /** A replay's report is stored: its hash, so a cited report can be checked against the chain. */
    "ingestion.replay_completed": {
      replayId: string;
      strategyId: string;
      paramsHash: string;
      window: { from: string; to: string };
      reportHash: string;
      sightings: number;
      pnl: string;
    };
    "ingestion.replay_failed": { replayId: string; strategyId: string; code: string; message: string };
  };
  risk: {
    /** A decision, recorded before it is answered (without its own receipt). */
    "risk.decision": Omit<RiskDecision, "auditSeq" | "auditHash"> & {
      intent: OrderIntent;
      breach: string | null;
      consumed: boolean;
      /** The mark it was taken against (null when none was known). */
      mark: { price: string | null; observedAt: string; ageMs: number } | null;
    };
    "risk.limits_changed": {
      fromVersion: number;
      toVersion: number;
      previous: RiskLimits;
      limits: RiskLimits;
      raised: string[];
      approval: AppliedApproval | null;
    };
    "risk.capital_changed": {
      previousEquity: string | null;
      equity: string;
      approval: AppliedApproval | null;
    };
    "risk.breaker_transition": {
      from: BreakerState;
      to: BreakerState;
      version: number;
      reason: string;
      trigger: string;
      counts: Record<string, number>;
      approval: AppliedApproval | null;
    };
  };
  execution: {
    "execution.policy_changed": { change: ExecutionPolicyChange; receipt: string | null };
    "execution.order_submitted": {
      clientOrderId: string;
      intent: OrderIntent;
      intentHash: string;
      decisionId: string;
      mode: "paper" | "live";
      context: OrderContext | null;
      compliance: { compliance: string; rulesVersion: number | null };
    };
    "execution.order_outcome": OrderOutcome & { reason: string | null };
    "execution.order_refused": { clientOrderId: string; code: string; reason: string };
    "execution.order_resolved": OrderOutcome & { from: string };
    "execution.order_updated": OrderOutcome & { from: string };
    "execution.order_cancel_requested": { clientOrderId: string; state: string };
    /** IBKR's order-reply question (its message lines), confirmed or refused by the client's rules. */
    "execution.ibkr_question_confirmed": { clientOrderId: string | null; message: string[] };
    "execution.ibkr_question_refused": { clientOrderId: string | null; message: string[] };
    /** A reconciliation run: its report without its own receipt. */
    "execution.reconciliation": Omit<ReconciliationReport, "auditSeq" | "auditHash">;
    "execution.loop_run": TradingLoopReport & { hedgeMapError: string | null };
    /** A fill's hedge was not placed (no fresh mark, risk denied it, the venue refused it): the obligation is open. */
    "execution.hedge_pending": { obligation: HedgeObligationView; hedgeOrderId: string; reason: string };
    /** An open obligation's hedge order was accepted: the obligation is closed. */
    "execution.hedge_placed": { obligation: HedgeObligationView; hedgeOrderId: string; openSeconds: number };
    /** An operator took an open obligation's exposure over: no longer retried nor alerted on. */
    "execution.hedge_abandoned": { obligation: HedgeObligationView; reason: string };
    /**
     * New fills on a Kalshi order the hedge map covers made a hedge owed (at submit or later: a resting or
     * late-resolved order): the obligation opened for exactly those fills' shares.
     */
    "execution.hedge_owed": { obligation: HedgeObligationView; filledBefore: number; filledAfter: number };
  };
  governance: {
    "governance.approval_requested": ApprovalEventBody;
    "governance.approval_recorded": ApprovalEventBody & { approvals: number };
    "governance.approval_granted": ApprovalEventBody & { approvals: number };
    "governance.approval_rejected": ApprovalEventBody & { reason: string };
    "governance.approval_cancelled": ApprovalEventBody & { cancelledBy: string; reason: string };
    "governance.approval_expired": ApprovalEventBody & { reason: "approval_ttl" | "execute_window" };
    "governance.approval_executed": ApprovalEventBody & { executedBy: string };
    "governance.receipt_reissued": ApprovalEventBody;
    "governance.receipt_returned": ApprovalEventBody & { returnedBy: string; reason: string };
    /** A desk step refused (outcome `denied`): who tried what, the code and the reason. */
    "governance.approval_refused": {
      step: string;
      requestId: string | null;
      action: ApprovalAction | null;
      code: string;
      reason: string;
      outcome: "denied";
    };
    "governance.roster_seeded": {
      action: ApprovalAction;
      approvers: string[];
      version: number;
      source: "config";
    };
    "governance.roster_changed": {
      action: ApprovalAction;
      fromVersion: number;
      toVersion: number;
      previous: string[];
      approvers: string[];
      requestId: string;
      approvedBy: string[];
    };
    "governance.strategy_created": {
      strategyId: string;
      name: string;
      kind: string;
      allocation: string;
      venues: string[];
      paramsHash: string;
    };
    "governance.strategy_changed": StrategyChanged;
    "governance.pair_candidates_refused": { count: number; reasons: string[] };
    "governance.pairs_proposed": {
      created: string[];
      lapsed: { pairId: string; reason: string; kalshiTermsHash: HashMove; polymarketTermsHash: HashMove }[];
      rekeyed: {
        pairId: string;
        termsVersion: JsonValue;
        kalshiTermsHash: HashMove;
        polymarketTermsHash: HashMove;
      }[];
    };
    "governance.pair_assessed": {
      pairId: string;
      assessmentId: string;
      model: string;
      promptHash: string;
      /** The Messages API request exactly as sent (its type lives with governance's Anthropic client). */
      prompt: object;
      verdict: PairVerdict | null;
      outcome: string;
      detail: string | null;
      requestId: string | null;
      usage: AssessmentUsage | null;
      attempts: number;
      kalshiEvidenceHash: string;
      polymarketEvidenceHash: string;
      kalshiTermsHash: string;
      polymarketTermsHash: string;
    };
    "governance.pair_reviewed": {
      pairId: string;
      reviewId: string;
      supersedes: string | null;
      decision: "approved" | "rejected";
      note: string | null;
      grade: PairGrade;
      yesMapsTo: string | null;
      assessmentId: string;
      kalshiTermsHash: string;
      polymarketTermsHash: string;
    };
  };
  monitor: {
    "monitor.alert_raised": AlertEvent;
    "monitor.alert_escalated": AlertEvent;
    "monitor.alert_deescalated": AlertEvent;
    "monitor.alert_cleared": AlertEvent;
    "monitor.recipient_changed": {
      action: string;
      email: string;
      before: string[];
      after: string[];
      version: number;
    };
  };
}

/** Which evidence export an event is about: the admin request and its window. */
export interface EvidenceExportEvent {
  requestId: string | null;
  window: { from: string; to: string };
}

/** What the gateway records of one admin request. */
export interface AdminRequestEvent {
  requestId: string | null;
  method: string;
  route: string;
  path: string;
  status: number;
  outcome: "ok" | "denied" | "error";
  /** Rate-limited requests only: the client address and the limit that refused it. */
  client?: string;
  limit?: JsonValue;
}

/** A service that appends to the audit chain. */
export type AuditEmitter = keyof AuditEventCatalog;

/** The event types `S` emits (every event type, by default). */
export type AuditEventType<S extends AuditEmitter = AuditEmitter> = {
  [K in S]: keyof AuditEventCatalog[K] & string;
}[S];

/** The payload of event `T` of service `S`. */
export type AuditPayload<S extends AuditEmitter, T extends AuditEventType<S>> = AuditEventCatalog[S][T];

/** One event of the catalog, as a worker appends it: its type, its service, who acted, its payload. */
export interface AuditEvent<S extends AuditEmitter, T extends AuditEventType<S> = AuditEventType<S>> {
  type: T;
  service: S;
  actor: Principal;
  payload: AuditPayload<S, T>;
}

/** Every event type of the catalog, listed (checked against the catalog both ways at compile time). */
export const AUDIT_EVENT_TYPES = Object.keys({
  "gateway.admin_request": true,
  "gateway.auth_rate_limited": true,
  "gateway.evidence_export_requested": true,
  "gateway.evidence_export_ended": true,
  "gateway.admin_audit_dropped": true,
  "compliance.rules_updated": true,
  "compliance.rules_update_lost": true,
  "compliance.blocked": true,
  "compliance.denied": true,
  "ingestion.response_rejected": true,
  "ingestion.evidence_failed": true,
  "ingestion.store_failed": true,
  "ingestion.markets_skipped": true,
  "ingestion.markets_closed": true,
  "ingestion.compliance_unavailable": true,
  "ingestion.evidence_recovered": true,
  "ingestion.evidence_unvouched": true,
  "ingestion.replay_requested": true,
  "ingestion.replay_completed": true,
  "ingestion.replay_failed": true,
  "risk.decision": true,
  "risk.limits_changed": true,
  "risk.capital_changed": true,
  "risk.breaker_transition": true,
  "execution.policy_changed": true,
  "execution.order_submitted": true,
  "execution.order_outcome": true,
  "execution.order_refused": true,
  "execution.order_resolved": true,
  "execution.order_updated": true,
  "execution.order_cancel_requested": true,
  "execution.ibkr_question_confirmed": true,
  "execution.ibkr_question_refused": true,
  "execution.reconciliation": true,
  "execution.loop_run": true,
  "execution.hedge_pending": true,
  "execution.hedge_placed": true,
  "execution.hedge_abandoned": true,
  "execution.hedge_owed": true,
  "governance.approval_requested": true,
  "governance.approval_recorded": true,
  "governance.approval_granted": true,
  "governance.approval_rejected": true,
  "governance.approval_cancelled": true,
  "governance.approval_expired": true,
  "governance.approval_executed": true,
  "governance.receipt_reissued": true,
  "governance.receipt_returned": true,
  "governance.approval_refused": true,
  "governance.roster_seeded": true,
  "governance.roster_changed": true,
  "governance.strategy_created": true,
  "governance.strategy_changed": true,
  "governance.pair_candidates_refused": true,
  "governance.pairs_proposed": true,
  "governance.pair_assessed": true,
  "governance.pair_reviewed": true,
  "monitor.alert_raised": true,
  "monitor.alert_escalated": true,
  "monitor.alert_deescalated": true,
  "monitor.alert_cleared": true,
  "monitor.recipient_changed": true,
} satisfies Record<AuditEventType, true>) as AuditEventType[];
