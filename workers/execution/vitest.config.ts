import { generateKeyPairSync } from "node:crypto";
import { auxWorker, double, workerTests } from "@paulp/testing";

// The order manager runs as the main worker against the real venue simulator; risk, ingestion, governance
// and audit are the typed recording doubles of @paulp/testing so each denial can be asserted with nothing downstream.
// The Kalshi key pair is generated per run (PKCS#1, as Kalshi hands them out) and never written to disk.
const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const pkcs1 = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
const spki = publicKey.export({ type: "spki", format: "pem" }).toString();

export default workerTests({
  miniflare: {
    bindings: {
      KALSHI_API_KEY: "exec-test-key",
      KALSHI_PRIVATE_KEY: pkcs1,
      TEST_KALSHI_PUBLIC_KEY: spki,
      // The gateway's Access service token: sent on every gateway request; the simulator checks it when a
      // test puts Access in front of it.
      IBKR_ACCESS_CLIENT_ID: "test-access-id.access",
      IBKR_ACCESS_CLIENT_SECRET: "test-access-secret",
      IBKR_GATEWAY_URL: "https://ibkr-gw.test",
      IBKR_ACCOUNT_ID: "DU1234567",
      // Production waits 8 s; 5 s here. Under it: a slow venue's answer (latency faults, at most 2 s); over it:
      // a hung one (hang faults, 8 s). 400 ms once turned a loaded machine's slow answer into a lost one.
      VENUE_TIMEOUT_MS: "5000",
      // One instrument only the fast-path test trades (a ticker no other test uses).
      HEDGE_MAP: JSON.stringify({
        "KX-FAST-HEDGED": {
          conid: 424242,
          ratio: "1",
          direction: "opposite",
          buyLimit: "160.00",
          sellLimit: "130.00",
          category: "Hedges",
        },
      }),
      // Tests run the fast path's alarm themselves: its own waits an hour.
      FAST_PATH_ALARM_MS: "3600000",
      // And the outbox's (fills, ended orders, held audit facts): `afterOutbox` in test/helpers.ts.
      OUTBOX_ALARM_MS: "3600000",
    },
    workers: [
      double("risk"),
      double("ingestion"),
      double("governance"),
      double("audit"),
      auxWorker("venue-sim"),
    ],
  },
  test: { testTimeout: 30_000 },
});
