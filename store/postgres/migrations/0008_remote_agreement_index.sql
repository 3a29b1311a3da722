-- Find a consumer-side negotiation by its agreement without reading every row.
ALTER TABLE remote_negotiations ADD COLUMN agreement_id TEXT NOT NULL DEFAULT '';
CREATE INDEX remote_negotiations_agreement ON remote_negotiations (agreement_id);
