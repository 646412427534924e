// The exact payload each two-person action carries, checked when the request is opened, so an
// operator cannot collect two approvals for something the applier would refuse anyway.
import { ApprovalAction, approvalPayloadSchema, StrategyGoLiveApproval } from "@paulp/contracts";
import type * as v from "valibot";

/** `strategy.go_live` payload (built by governance itself from the strategy row). */
export const StrategyGoLivePayload = StrategyGoLiveApproval;

/** The payload schema of each action: the contract's variant on `action` (`ApprovalActionPayload`). */
export const ACTION_PAYLOADS = Object.fromEntries(
  ApprovalAction.options.map((action) => [action, approvalPayloadSchema(action)]),
) as Record<ApprovalAction, v.GenericSchema>;

/** Domain separation for approval payload hashes. */
export const PAYLOAD_HASH_DOMAIN = "paulp.approval.payload.v1";
/** Domain separation for receipt token hashes. */
export const RECEIPT_HASH_DOMAIN = "paulp.approval.receipt.v1";
