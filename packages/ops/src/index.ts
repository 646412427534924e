// The operators' CLI (`pnpm paulp`) and the pre-live preflight.

export { type Io, main } from "./cli";
export { AdminClient, CliError } from "./client";
export { type CheckLine, preflight } from "./preflight/run";
