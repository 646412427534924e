import { createEgressFetch } from "@paulp/kit";
import type { Env } from "../env";
import { createIbkrClient, type IbkrClient, parseConfirmable } from "./ibkr";
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
  onQuestion?: (q: { message: string[]; confirmed: boolean }) => Promise<boolean>,
): { kalshi: KalshiClient; ibkr: IbkrClient } {
  const fetch = createEgressFetch({
    simulator: env.VENUE_SIM,
    extraHosts: ibkrHost(env.IBKR_GATEWAY_URL),
    timeoutMs: Number(env.VENUE_TIMEOUT_MS) > 0 ? Number(env.VENUE_TIMEOUT_MS) : 8_000,
  });
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
      access: { clientId: env.IBKR_ACCESS_CLIENT_ID, clientSecret: env.IBKR_ACCESS_CLIENT_SECRET },
      confirmable: parseConfirmable(env.IBKR_CONFIRMABLE_QUESTIONS),
      onQuestion,
    }),
  };
}
