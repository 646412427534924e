import { constantTimeEqual } from "@paulp/kit";
import type { ZxcvbnFactory } from "@zxcvbn-ts/core";

/**
 * The fewest guesses, as a power of ten, zxcvbn may estimate for ADMIN_TOKEN (10^26 ≈ 86 bits). zxcvbn prices
 * a character it cannot explain at 10 guesses, so a random 32-byte token (43 base64url characters) scores
 * about 10^43 and a random 32-character one about 10^30; repeats, sequences, keyboard walks, dates and
 * dictionary words score far lower whatever their length ("0123456789" × 4: 10^2).
 */
export const MIN_TOKEN_GUESSES_LOG10 = 26;

/** Words an attacker would try first against this system's token (zxcvbn's user inputs). */
const SYSTEM_WORDS = [
  "paulp",
  "paul-p",
  "paul",
  "admin",
  "token",
  "admintoken",
  "bearer",
  "gateway",
  "trading",
];

let estimator: Promise<ZxcvbnFactory> | undefined;

/**
 * zxcvbn with its common-password, diceware and keyboard data plus English words. Loaded on first use and
 * kept per isolate: its dictionaries cost a few hundred ms of CPU to build, so never at start-up.
 */
function loadEstimator(): Promise<ZxcvbnFactory> {
  estimator ??= Promise.all([
    import("@zxcvbn-ts/core"),
    import("@zxcvbn-ts/language-common"),
    import("@zxcvbn-ts/language-en"),
  ]).then(
    ([core, common, en]) =>
      new core.ZxcvbnFactory({
        dictionary: { ...common.dictionary, ...en.dictionary },
        graphs: common.adjacencyGraphs,
      }),
  );
  estimator.catch(() => {
    estimator = undefined;
  });
  return estimator;
}

/** The verdict on the last token judged (the token is fixed per deployment, so one entry suffices). */
let judged: { token: string | undefined; problem: Promise<string | null> } | undefined;

/**
 * Why a configured ADMIN_TOKEN is refused; null when it is acceptable. The reason names the rule and the
 * kinds of pattern found, never the token or any part of it, so it may be logged.
 */
export function adminTokenProblem(token: string | undefined): Promise<string | null> {
  if (judged && judged.token === token) return judged.problem;
  const problem = judge(token);
  judged = { token, problem };
  return problem;
}

async function judge(token: string | undefined): Promise<string | null> {
  if (!token) return "ADMIN_TOKEN is not set";
  if (token.length < 32) return "ADMIN_TOKEN is shorter than 32 characters";
  if (/\s/.test(token)) return "ADMIN_TOKEN contains whitespace";
  let estimate: { guessesLog10: number; sequence: { pattern: string }[] };
  try {
    estimate = (await loadEstimator()).check(token, SYSTEM_WORDS);
  } catch (error) {
    // Unjudged is refused: fail closed.
    return `ADMIN_TOKEN strength could not be estimated (${(error as Error).name})`;
  }
  if (estimate.guessesLog10 >= MIN_TOKEN_GUESSES_LOG10) return null;
  const patterns = [...new Set(estimate.sequence.map((m) => m.pattern))].join(", ");
  return (
    `ADMIN_TOKEN is guessable: about 10^${Math.floor(estimate.guessesLog10)} guesses (${patterns}), ` +
    `under the 10^${MIN_TOKEN_GUESSES_LOG10} required; use 32 random bytes (openssl rand -base64 32)`
  );
}

/** Constant-time check of a presented bearer token against the configured one. */
export function bearerMatches(presented: string, configured: string): Promise<boolean> {
  return constantTimeEqual(presented, configured);
}

/** Extract the token from `Authorization: Bearer <token>`; null when absent or another scheme. */
export function parseBearer(header: string | null): string | null {
  if (!header) return null;
  const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header);
  return match ? match[1]! : null;
}
