import { DurableObject } from "cloudflare:workers";
import type { Env } from "./env";

/** Portfolio state and order evaluation (filled in by the risk issue). */
export class RiskGovernor extends DurableObject<Env> {
  async ping(): Promise<string> {
    return "pong";
  }
}
