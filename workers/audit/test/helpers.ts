import { env, exports } from "cloudflare:workers";
import type { AuditEventInput, AuditRpc } from "@paulp/contracts";
import type { AuditSequencer } from "../src/sequencer";

/** The audit worker under test, called over its real RPC entrypoint. */
export function audit(): AuditRpc {
  return (exports as unknown as { default: AuditRpc }).default;
}

/** The one sequencer instance. */
export function sequencer(): DurableObjectStub<AuditSequencer> {
  return env.AUDIT_SEQUENCER.get(env.AUDIT_SEQUENCER.idFromName("chain"));
}

/** A valid event. */
export function event(n: number, payload: unknown = { n, amount: "12.50" }): AuditEventInput {
  return {
    type: "risk.decision",
    service: "risk",
    actor: { method: "system", subject: "cron:risk" },
    payload: payload as AuditEventInput["payload"],
  };
}
