-- Fulfilment attestations of agreement duties (e.g. odrl:delete after the agreement ends).
CREATE TABLE agreement_duties (
  agreement_id TEXT NOT NULL REFERENCES agreements(id),
  action TEXT NOT NULL,
  fulfilled_at BIGINT NOT NULL,
  fulfilled_by TEXT NOT NULL REFERENCES orgs(id),
  note TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (agreement_id, action)
);
