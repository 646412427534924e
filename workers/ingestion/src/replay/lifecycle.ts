// A replay run's lifecycle, one table: it runs until its report is stored and audited (complete) or it stops on a
// refusal or an error it cannot get past (failed). Both ends are final: a new window or new params is a new replay.
import type { ReplayStatus } from "@paulp/contracts";

export const REPLAY_TRANSITIONS: Record<ReplayStatus, readonly ReplayStatus[]> = {
  running: ["complete", "failed"],
  complete: [],
  failed: [],
};

export function canMove(from: ReplayStatus, to: ReplayStatus): boolean {
  return REPLAY_TRANSITIONS[from].includes(to);
}
