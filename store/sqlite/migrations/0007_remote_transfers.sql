-- On the consumer's node: transfers from peer connectors, with the data address (and its
-- short-lived token) that the provider sent in its TransferStartMessage.
CREATE TABLE remote_transfers (
  consumer_pid TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES orgs(id),
  peer TEXT NOT NULL,
  provider_pid TEXT NOT NULL DEFAULT '',
  agreement_id TEXT NOT NULL,
  state TEXT NOT NULL,
  endpoint TEXT NOT NULL DEFAULT '',
  token TEXT NOT NULL DEFAULT '',
  expires_at INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX remote_transfers_org ON remote_transfers (org_id);
