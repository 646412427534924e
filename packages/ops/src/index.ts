// The operators' CLI (`pnpm paulp`) and the pre-live preflight.
export {};
