-- The Merkle audit log (issue 4). Every event gets, in its own transaction, a pending log
-- entry (its public fields and a salted commitment to its payload) and its salt, which
-- is private. The sequencer moves pending entries into the tree in batches: entries,
-- RFC 6962 stored hashes (golang.org/x/mod/sumdb/tlog layout), tiles and bundles
-- (c2sp.org/tlog-tiles), and the signed head, advanced by compare-and-set. Pending rows
-- are taken in id order and deleted, never selected by a watermark (ids commit out of
-- order here).
CREATE TABLE audit_pending (
  id BIGSERIAL PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  entry BYTEA NOT NULL,
  leaf BYTEA NOT NULL
);
CREATE TABLE audit_salts (
  event_id TEXT PRIMARY KEY,
  salt BYTEA NOT NULL
);
CREATE TABLE audit_entries (
  idx BIGINT PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  entry BYTEA NOT NULL,
  leaf BYTEA NOT NULL
);
CREATE TABLE audit_hashes (
  id BIGINT PRIMARY KEY,
  hash BYTEA NOT NULL
);
CREATE TABLE audit_tiles (
  path TEXT PRIMARY KEY,
  data BYTEA NOT NULL
);
CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  origin TEXT NOT NULL,
  size BIGINT NOT NULL,
  root BYTEA NOT NULL,
  note BYTEA NOT NULL
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_hashes_append_only BEFORE UPDATE OR DELETE ON audit_hashes FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
-- Events written before this migration are given entries by the server at its next start
-- (their salts must come from a cryptographic generator); this marks how far back to look.
CREATE TABLE audit_backfill (upto BIGINT NOT NULL);
INSERT INTO audit_backfill (upto) SELECT COALESCE(MAX(seq), 0) FROM events;
