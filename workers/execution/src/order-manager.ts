import { DurableObject } from "cloudflare:workers";
import type { Env } from "./env";

/** Order lifecycle, one per account (filled in by the execution issue). */
export class OrderManager extends DurableObject<Env> {
  async ping(): Promise<string> {
    return "pong";
  }
}
