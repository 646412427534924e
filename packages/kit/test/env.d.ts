import type { Bound, Result } from "@paulp/contracts";

/** The test-only worker of vitest.config.ts. */
export interface LeafRpc {
  answer(text: string): Promise<Result<{ text: string; at: number[] }>>;
}

declare global {
  namespace Cloudflare {
    interface Env {
      LEAF: Bound<LeafRpc>;
    }
  }
}
