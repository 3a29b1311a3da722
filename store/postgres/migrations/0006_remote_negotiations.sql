-- Negotiations across nodes. On the provider's node a remote consumer is a peer
-- organisation (orgs.peer = its participant ID, no private key) and its callback address is
-- kept with the negotiation; on the consumer's node each negotiation with a peer is a row
-- of remote_negotiations.
ALTER TABLE orgs ADD COLUMN peer TEXT NOT NULL DEFAULT '';
ALTER TABLE negotiations ADD COLUMN callback TEXT NOT NULL DEFAULT '';
CREATE TABLE remote_negotiations (
  consumer_pid TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES orgs(id),
  peer TEXT NOT NULL,
  provider_pid TEXT NOT NULL DEFAULT '',
  dataset_id TEXT NOT NULL,
  offer_id TEXT NOT NULL,
  state TEXT NOT NULL,
  terms TEXT NOT NULL,
  agreement TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX remote_negotiations_org ON remote_negotiations (org_id);
