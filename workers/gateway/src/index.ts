import { WorkerEntrypoint } from "cloudflare:workers";
import type { Env } from "./env";
import { buildRouter } from "./router";

export { AdminAuditOutbox } from "./audit-outbox-object";

const router = buildRouter();

/** The gateway: HTTP only (no other worker binds it), and the admin audit outbox it alone uses. */
export default class Gateway extends WorkerEntrypoint<Env> {
  override fetch(request: Request): Promise<Response> {
    return router.fetch(request, this.env, this.ctx);
  }
}
