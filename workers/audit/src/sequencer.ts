import { DurableObject } from "cloudflare:workers";
import type { Env } from "./env";

/** The one Durable Object that orders every audit event (filled in by the audit-chain issue). */
export class AuditSequencer extends DurableObject<Env> {
  async ping(): Promise<string> {
    return "pong";
  }
}
