import { DurableObject } from "cloudflare:workers";
import type { Env } from "./env";

/** NORMAL → CAUTION → HALT → RECOVERY (filled in by the risk issue). */
export class CircuitBreaker extends DurableObject<Env> {
  async ping(): Promise<string> {
    return "pong";
  }
}
