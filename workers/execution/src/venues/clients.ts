import { createEgressFetch, parseHostList } from "@paulp/kit";
import type { Env } from "../env";
import { createIbkrClient, DEFAULT_CONFIRMABLE, type IbkrClient } from "./ibkr";
import { createKalshiClient, type KalshiClient } from "./kalshi";

/** The host of the configured IBKR gateway, the one extra host execution may reach. */
function ibkrHost(url: string): string[] {
  try {
    return url ? [new URL(url).hostname] : [];
  } catch {
    return [];
  }
}

/** Venue clients built from the worker's bindings; every request goes through the egress allowlist. */
export function venueClients(
  env: Env,
  onQuestion?: (q: { messageIds: string[]; message: string[]; confirmed: boolean }) => Promise<boolean>,
): { kalshi: KalshiClient; ibkr: IbkrClient } {
  const fetch = createEgressFetch({
    simulator: env.VENUE_SIM,
    extraHosts: ibkrHost(env.IBKR_GATEWAY_URL),
    timeoutMs: Number(env.VENUE_TIMEOUT_MS) > 0 ? Number(env.VENUE_TIMEOUT_MS) : 8_000,
  });
  const confirmable = parseHostList(env.IBKR_CONFIRMABLE_MESSAGE_IDS);
  return {
    kalshi: createKalshiClient({
      keyId: env.KALSHI_API_KEY,
      privateKeyPem: env.KALSHI_PRIVATE_KEY,
      fetch,
      now: Date.now,
    }),
    ibkr: createIbkrClient({
      gatewayUrl: env.IBKR_GATEWAY_URL ?? "",
      accountId: env.IBKR_ACCOUNT_ID ?? "",
      fetch,
      confirmable: confirmable.length > 0 ? confirmable : DEFAULT_CONFIRMABLE,
      onQuestion,
    }),
  };
}
