-- A version's grading as decided (issue 5): the latest classification proposal (JSON;
-- the one stored with the version until re-run) and the provider's or operator's
-- decision with who and why. Every change is also an audit event.
CREATE TABLE version_grades (
  version_id TEXT PRIMARY KEY REFERENCES versions (id),
  asset_id TEXT NOT NULL REFERENCES assets (id),
  proposal TEXT NOT NULL DEFAULT '',
  level INTEGER NOT NULL DEFAULT 0,
  important INTEGER NOT NULL DEFAULT 0,
  core INTEGER NOT NULL DEFAULT 0,
  approved INTEGER NOT NULL DEFAULT 0,
  decided_by TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  updated_at INTEGER NOT NULL
);
