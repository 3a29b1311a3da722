-- DSP transfer processes for pull downloads: one counted use each, short-lived tokens.
CREATE TABLE transfers (
  id TEXT PRIMARY KEY,
  consumer_pid TEXT NOT NULL,
  agreement_id TEXT NOT NULL REFERENCES agreements(id),
  asset_id TEXT NOT NULL REFERENCES assets(id),
  version_id TEXT NOT NULL REFERENCES versions(id),
  version_number INTEGER NOT NULL,
  provider_id TEXT NOT NULL REFERENCES orgs(id),
  consumer_id TEXT NOT NULL REFERENCES orgs(id),
  format TEXT NOT NULL,
  purpose TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  token_hash TEXT NOT NULL DEFAULT '',
  token_expires BIGINT NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (consumer_id, consumer_pid)
);
CREATE INDEX transfers_token ON transfers (token_hash);
CREATE INDEX transfers_agreement ON transfers (agreement_id);
