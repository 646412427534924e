// The audit worker's Cron Triggers (wrangler.jsonc `triggers.crons`; scripts/dev-cron.mjs mirrors them in dev).
// Kept out of the entry module, which may export only handlers.

/** The hourly anchor. */
export const ANCHOR_CRON = "0 * * * *";
/** The daily full verification (a quiet hour, away from the anchor on the hour). */
export const FULL_VERIFICATION_CRON = "30 4 * * *";
/**
 * Steps one call of a full verification to the head may take (each reads ~FULL_STEP_MAX_COPIES R2 objects): past
 * it the answer is `complete: false` and the next call goes on from where this one stopped.
 */
export const MAX_STEPS_PER_CALL = 200;
