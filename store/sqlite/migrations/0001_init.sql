-- dx schema, SQLite. Times are Unix microseconds (UTC); JSON is kept as TEXT.
CREATE TABLE orgs (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  uscc TEXT NOT NULL DEFAULT '',
  roles TEXT NOT NULL,
  public_key BLOB NOT NULL,
  private_key BLOB NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE bootstrap (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  org_id TEXT NOT NULL REFERENCES orgs(id) DEFERRABLE INITIALLY DEFERRED
);
CREATE TABLE members (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES orgs(id),
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (org_id, email)
);
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES orgs(id),
  name TEXT NOT NULL,
  scopes TEXT NOT NULL,
  hash BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX tokens_org ON tokens (org_id);
CREATE TABLE assets (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL REFERENCES orgs(id),
  name TEXT NOT NULL,
  meta TEXT NOT NULL,
  industry TEXT NOT NULL,
  region TEXT NOT NULL,
  visibility TEXT NOT NULL,
  format TEXT NOT NULL,
  latest_version INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (owner_id, name)
);
CREATE INDEX assets_updated ON assets (updated_at DESC, id DESC);
CREATE INDEX assets_industry ON assets (industry, updated_at DESC);
CREATE INDEX assets_region ON assets (region);
CREATE TABLE asset_rights (
  asset_id TEXT NOT NULL REFERENCES assets(id),
  kind TEXT NOT NULL,
  org_id TEXT NOT NULL REFERENCES orgs(id),
  PRIMARY KEY (asset_id, kind, org_id)
);
CREATE INDEX asset_rights_org ON asset_rights (org_id);
CREATE TABLE asset_lineage (
  asset_id TEXT NOT NULL REFERENCES assets(id),
  parent_id TEXT NOT NULL REFERENCES assets(id),
  transformation TEXT NOT NULL,
  PRIMARY KEY (asset_id, parent_id)
);
CREATE TABLE versions (
  id TEXT PRIMARY KEY,
  asset_id TEXT NOT NULL REFERENCES assets(id),
  number INTEGER NOT NULL,
  info TEXT NOT NULL,
  digest TEXT NOT NULL,
  row_count INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (asset_id, number)
);
CREATE TABLE renditions (
  version_id TEXT NOT NULL REFERENCES versions(id),
  format TEXT NOT NULL,
  digest TEXT NOT NULL,
  PRIMARY KEY (version_id, format)
);
-- The full-text index of assets; its rowid is the asset row's rowid.
CREATE VIRTUAL TABLE asset_search USING fts5 (title, body, tokenize = 'unicode61 remove_diacritics 0', detail = 'column');
CREATE TABLE grants (
  id TEXT PRIMARY KEY,
  asset_id TEXT NOT NULL REFERENCES assets(id),
  consumer_id TEXT NOT NULL REFERENCES orgs(id),
  provider_id TEXT NOT NULL REFERENCES orgs(id),
  purpose TEXT NOT NULL,
  status TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  decided_at INTEGER
);
CREATE UNIQUE INDEX grants_live ON grants (asset_id, consumer_id) WHERE status IN ('pending', 'approved');
CREATE INDEX grants_consumer ON grants (consumer_id);
CREATE INDEX grants_provider ON grants (provider_id);
-- The audit outbox. seq orders integration into the Merkle log (a later migration adds
-- the log's own tables); rows are never updated or deleted.
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  time INTEGER NOT NULL,
  actor TEXT NOT NULL,
  token_id TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  payload TEXT NOT NULL
);
CREATE INDEX events_subject ON events (subject);
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
