-- The Merkle audit log (issue 4). Every event gets, in its own transaction, a pending log
-- entry (its public fields and a salted commitment to its payload) and its salt, which
-- is private. The sequencer moves pending entries into the tree in batches: entries,
-- RFC 6962 stored hashes (golang.org/x/mod/sumdb/tlog layout), tiles and bundles
-- (c2sp.org/tlog-tiles), and the signed head, advanced by compare-and-set.
CREATE TABLE audit_pending (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL UNIQUE,
  entry BLOB NOT NULL,
  leaf BLOB NOT NULL
);
CREATE TABLE audit_salts (
  event_id TEXT PRIMARY KEY,
  salt BLOB NOT NULL
);
CREATE TABLE audit_entries (
  idx INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  entry BLOB NOT NULL,
  leaf BLOB NOT NULL
);
CREATE TABLE audit_hashes (
  id INTEGER PRIMARY KEY,
  hash BLOB NOT NULL
);
CREATE TABLE audit_tiles (
  path TEXT PRIMARY KEY,
  data BLOB NOT NULL
);
CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  origin TEXT NOT NULL,
  size INTEGER NOT NULL,
  root BLOB NOT NULL,
  note BLOB NOT NULL
);
CREATE TRIGGER audit_entries_append_only_update BEFORE UPDATE ON audit_entries BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_entries_append_only_delete BEFORE DELETE ON audit_entries BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_hashes_append_only_update BEFORE UPDATE ON audit_hashes BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_hashes_append_only_delete BEFORE DELETE ON audit_hashes BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
-- Events written before this migration are given entries by the server at its next start
-- (their salts must come from a cryptographic generator); this marks how far back to look.
CREATE TABLE audit_backfill (upto INTEGER NOT NULL);
INSERT INTO audit_backfill (upto) SELECT COALESCE(MAX(seq), 0) FROM events;
