-- Cross-border delivery (issue 5). An organisation's country is attested by the operator
-- who registers it ('' for mainland China); a provider's filings (security assessment,
-- standard contract, certification) and its year-to-date counts of persons whose
-- personal information it delivered abroad (general and sensitive buckets).
ALTER TABLE orgs ADD COLUMN country TEXT NOT NULL DEFAULT '';
CREATE TABLE crossborder_filings (
  id TEXT PRIMARY KEY,
  provider_id TEXT NOT NULL REFERENCES orgs (id),
  kind TEXT NOT NULL,
  reference TEXT NOT NULL,
  valid_until INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX crossborder_filings_provider ON crossborder_filings (provider_id);
CREATE TABLE crossborder_ledger (
  provider_id TEXT NOT NULL REFERENCES orgs (id),
  year INTEGER NOT NULL,
  general INTEGER NOT NULL,
  sensitive INTEGER NOT NULL,
  PRIMARY KEY (provider_id, year)
);
