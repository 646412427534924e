import { generateKeyPairSync, type KeyObject, randomBytes } from "node:crypto";
import { auxWorker, meshDatabases, workerTests } from "@paulp/testing";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { generateAuditKey } from "../../scripts/audit-keygen.mjs";

// The audit worker's anchor signing key, generated for each run; tests verify exports with its public half.
const auditKey = generateAuditKey();

// Integration: the gateway runs as the test's main worker; every other worker is the real, prebuilt one,
// reached through the gateway's real service bindings. The admin token is generated per run.
// Two projects: `mesh` runs its files on a verified chain; `integrity` starts from a chain never verified and
// breaks it on purpose. Every test file has its own copy of every worker and its own storage (isolated storage).
//
// Ingestion's own read-only Kalshi key (it signs the order-book reads), generated per run; the simulator
// trusts its public half with the `read` scope, as `pnpm dev` sets it up.
const readKey = generateKeyPairSync("rsa", { modulusLength: 2048 });
const readKeyId = "ingestion-read-gateway-test";
const ingestionKeys = {
  KALSHI_READ_API_KEY: readKeyId,
  KALSHI_READ_PRIVATE_KEY: readKey.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
};

// Execution's Kalshi trading key, generated per run; the simulator trusts its public half, as `pnpm dev` sets it
// up, so reconciliation reads the simulator's positions (and its faults reach execution's trading client).
const tradeKey = generateKeyPairSync("rsa", { modulusLength: 2048 });
const tradeKeyId = "execution-gateway-test";
// Its venue timeout is longer than any test holds an answer (the simulator's "hold" fault is released by the
// test, so a slow machine cannot turn a held answer into a timeout before the test has looked).
const executionKeys = {
  VENUE_TIMEOUT_MS: "120000",
  KALSHI_API_KEY: tradeKeyId,
  KALSHI_PRIVATE_KEY: tradeKey.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
};
const spki = (key: KeyObject) => key.export({ type: "spki", format: "der" }).toString("base64");
const simKeys = {
  SIM_KALSHI_PUBLIC_KEYS: `${readKeyId}:${spki(readKey.publicKey)}:read,${tradeKeyId}:${spki(tradeKey.publicKey)}`,
};

// The failed-authentication limits wrangler.jsonc configures, by binding name: the rate-limit tests run the
// gateway against limiters with these limits on a clock the test moves (test/rate-limiter.ts).
type RateLimitBinding = { simple: { limit: number; period: number } };
const configured = unstable_getMiniflareWorkerOptions("./wrangler.jsonc").workerOptions.ratelimits ?? {};
const rateLimits = Object.fromEntries(
  Object.entries(configured as Record<string, RateLimitBinding>).map(([name, binding]) => [
    name,
    binding.simple,
  ]),
);

// The databases the real workers share, migrated in test/setup.ts.
const mesh = await meshDatabases();

export default workerTests({
  miniflare: {
    bindings: {
      ADMIN_TOKEN: randomBytes(32).toString("base64url"),
      ACCESS_TEAM_DOMAIN: "paulp-test.cloudflareaccess.com",
      ACCESS_AUD: "paulp-test-aud",
      // A go-live cites a replay of an hour's evidence ending within two (production: 7 days within 3).
      REPLAY_MIN_SPAN_HOURS: "1",
      REPLAY_MAX_AGE_HOURS: "2",
      ...mesh.bindings,
      TEST_AUDIT_SIGNING_KEY: auditKey.signerKey,
      TEST_AUDIT_VERIFIER_KEY: auditKey.verifierKey,
      TEST_RATE_LIMITS: rateLimits,
    },
    d1Databases: mesh.d1Databases,
    // Ingestion's evidence bucket, by its name: the export test alters a stored object behind ingestion's back.
    r2Buckets: { TEST_R2_EVIDENCE: "paulp-evidence" },
    workers: [
      auxWorker("audit", { bindings: { AUDIT_SIGNING_KEY: auditKey.signerKey } }),
      // The test people approve every action (the dev roster names the dev seed's people instead).
      auxWorker("governance", {
        bindings: {
          // The Anthropic simulator's kind of key, made here: a fresh clone has no .dev.vars to lend one.
          ANTHROPIC_API_KEY: `sk-sim-${randomBytes(24).toString("base64url")}`,
          APPROVER_ROSTER: {
            "*": ["alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"],
          },
        },
      }),
      auxWorker("risk"),
      auxWorker("ingestion", { bindings: ingestionKeys }),
      // One hedge instrument (the simulator's, trading near 148), filed under a category of its own, so an IBKR
      // hedge can be marked and decided: for one ticker, and for the simulator's categories (the loop's fills).
      // Their limits are bounds far from the market (a hedge is priced from the mark; these old fixed prices
      // would be refused by risk's 10 % collar). Tests run the fast path's ticks themselves: its alarm waits an hour.
      auxWorker("execution", {
        bindings: {
          ...executionKeys,
          FAST_PATH_ALARM_MS: "3600000",
          HEDGE_MAP: JSON.stringify(
            Object.fromEntries(
              [
                "KX-GW-HEDGED",
                ...["Economics", "Financials", "Crypto", "Politics"].map((c) => `category:${c}`),
              ].map((key) => [
                key,
                {
                  conid: 265598,
                  ratio: "0.5",
                  direction: "opposite",
                  buyLimit: "180.00",
                  sellLimit: "120.00",
                  category: "Hedges",
                },
              ]),
            ),
          ),
        },
      }),
      // An open hedge obligation alerts at once here (production: after 5 minutes), so the hedge test sees the
      // unhedged_exposure alert raised by a real obligation and cleared by the retry that hedges it; so does an
      // admin request record waiting in the gateway's outbox (audit_outbox_backlog, admin-audit-outbox.test.ts).
      auxWorker("monitor", {
        bindings: {
          ALERT_RULES: JSON.stringify({
            hedgeObligationWarningSeconds: 0,
            adminAuditOutboxWarningSeconds: 0,
          }),
        },
      }),
      auxWorker("venue-sim", { bindings: simKeys }),
    ],
  },
  test: {
    // Hooks generate RSA keys and the first admin request judges the token: seconds on a loaded machine.
    testTimeout: 20_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true as const,
        test: {
          name: "mesh",
          include: ["test/*.test.ts"],
          // One mesh at a time: the second starts when the first is done (less load on a small machine).
          sequence: { groupOrder: 0 },
          // A verified chain first: two-person actions are refused while integrity is not ok.
          setupFiles: ["./test/setup.ts", "./test/setup-verified.ts"],
        },
      },
      {
        extends: true as const,
        test: {
          name: "integrity",
          include: ["test/integrity/*.test.ts"],
          setupFiles: ["./test/setup.ts"],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
