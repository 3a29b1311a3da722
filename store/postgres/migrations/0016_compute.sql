-- Compute in place (issue 6). A provider's compute settings per asset (the privacy unit
-- column, '' for one row per person; the cap on groups one unit may touch; the rows per
-- unit of a bounded snapshot, 0 for none); bounded snapshots per (version, agreement),
-- stored as blobs; the privacy
-- budget ledger, one row per reservation (reserved, then committed or released, never
-- deleted: spent = the sum of committed and reserved rows of an agreement); and the
-- released answers, so that an identical query returns the same noisy answer at no cost.
CREATE TABLE compute_settings (
  asset_id TEXT PRIMARY KEY REFERENCES assets (id),
  unit_column TEXT NOT NULL,
  max_groups BIGINT NOT NULL,
  snapshot_rows BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE dp_reservations (
  id TEXT PRIMARY KEY,
  agreement_id TEXT NOT NULL REFERENCES agreements (id),
  query_hash TEXT NOT NULL,
  epsilon DOUBLE PRECISION NOT NULL,
  delta DOUBLE PRECISION NOT NULL,
  rho DOUBLE PRECISION NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'released')),
  created_at BIGINT NOT NULL
);
CREATE INDEX dp_reservations_agreement ON dp_reservations (agreement_id, state);
CREATE TABLE dp_answers (
  cache_key TEXT PRIMARY KEY,
  agreement_id TEXT NOT NULL,
  answer TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE dp_snapshots (
  version_id TEXT NOT NULL REFERENCES versions (id),
  agreement_id TEXT NOT NULL,
  digest TEXT NOT NULL,
  row_count BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (version_id, agreement_id)
);
