import { DurableObject } from "cloudflare:workers";
import type { Env } from "./env";

/** Serialises two-person approvals (filled in by the governance issue). */
export class ApprovalDesk extends DurableObject<Env> {
  async ping(): Promise<string> {
    return "pong";
  }
}
