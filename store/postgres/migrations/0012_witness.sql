-- A witness (dx witness) keeps, per log it trusts, the latest checkpoint it cosigned.
CREATE TABLE witness_state (
  origin TEXT PRIMARY KEY,
  size BIGINT NOT NULL,
  root BYTEA NOT NULL,
  note BYTEA NOT NULL
);
-- The exchange's latest checkpoint cosigned by a quorum of its witnesses (published at
-- /audit/checkpoint when witnesses are configured).
CREATE TABLE audit_published (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  size BIGINT NOT NULL,
  note BYTEA NOT NULL
);
