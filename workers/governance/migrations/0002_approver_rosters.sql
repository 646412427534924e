-- Approver rosters (who may approve each two-person action) and where a pending_live strategy returns to.
-- A roster row is written once from APPROVER_ROSTER (version 1, source 'config') the first time the action is
-- used, and from then on only by an approved `governance.roster_change` (compare-and-set on version).
CREATE TABLE IF NOT EXISTS approver_rosters (
  action TEXT PRIMARY KEY,
  approvers TEXT NOT NULL,           -- JSON array of canonical email addresses, sorted
  version INTEGER NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('config','approval')),
  request_id TEXT,                   -- the roster_change request that set it (NULL for the first roster)
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL
);

-- The state (paper or paused) a strategy left for pending_live: where it goes back when its go-live request
-- ends without going live (rejected, expired, cancelled).
ALTER TABLE strategies ADD COLUMN pre_live_state TEXT CHECK (pre_live_state IN ('paper','paused'));
