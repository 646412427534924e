import { json } from "@paulp/kit";
import { openApiDocument } from "../openapi";
import type { GatewayRouter } from "../router";

let document: Record<string, unknown> | undefined;

/** `GET /admin/openapi.json`: the admin API's OpenAPI 3.1 description (authenticated like every admin route). */
export function registerOpenApiRoutes(router: GatewayRouter): void {
  router.get("/admin/openapi.json", () => {
    document ??= openApiDocument();
    return json(document);
  });
}
