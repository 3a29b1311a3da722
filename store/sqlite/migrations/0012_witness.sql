-- A witness (dx witness) keeps, per log it trusts, the latest checkpoint it cosigned.
CREATE TABLE witness_state (
  origin TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  root BLOB NOT NULL,
  note BLOB NOT NULL
);
-- The exchange's latest checkpoint cosigned by a quorum of its witnesses (published at
-- /audit/checkpoint when witnesses are configured).
CREATE TABLE audit_published (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  size INTEGER NOT NULL,
  note BLOB NOT NULL
);
