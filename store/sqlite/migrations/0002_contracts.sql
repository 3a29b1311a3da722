-- Usage contracts: offers on assets, negotiations, signed agreements and their use counters.
CREATE TABLE offers (
  id TEXT PRIMARY KEY,
  asset_id TEXT NOT NULL REFERENCES assets(id),
  provider_id TEXT NOT NULL REFERENCES orgs(id),
  policy TEXT NOT NULL,
  digest TEXT NOT NULL,
  auto_approve INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  withdrawn_at INTEGER
);
CREATE INDEX offers_asset ON offers (asset_id);
CREATE TABLE negotiations (
  id TEXT PRIMARY KEY,
  consumer_pid TEXT NOT NULL,
  offer_id TEXT NOT NULL REFERENCES offers(id),
  asset_id TEXT NOT NULL REFERENCES assets(id),
  provider_id TEXT NOT NULL REFERENCES orgs(id),
  consumer_id TEXT NOT NULL REFERENCES orgs(id),
  state TEXT NOT NULL,
  terms TEXT NOT NULL,
  agreement_id TEXT,
  reason TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (consumer_id, consumer_pid)
);
CREATE INDEX negotiations_provider ON negotiations (provider_id);
CREATE TABLE agreements (
  id TEXT PRIMARY KEY,
  negotiation_id TEXT NOT NULL UNIQUE REFERENCES negotiations(id),
  asset_id TEXT NOT NULL REFERENCES assets(id),
  provider_id TEXT NOT NULL REFERENCES orgs(id),
  consumer_id TEXT NOT NULL REFERENCES orgs(id),
  document TEXT NOT NULL,
  digest TEXT NOT NULL,
  uses INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX agreements_consumer ON agreements (consumer_id, asset_id);
