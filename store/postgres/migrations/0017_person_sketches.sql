-- Cross-border persons are counted as distinct persons (issue 5): per provider and year,
-- a HyperLogLog sketch (16 KiB) of the persons delivered abroad, general and sensitive.
-- The integer columns keep the sketches' estimates for reading.
ALTER TABLE crossborder_ledger ADD COLUMN general_sketch BYTEA NOT NULL DEFAULT '\x';
ALTER TABLE crossborder_ledger ADD COLUMN sensitive_sketch BYTEA NOT NULL DEFAULT '\x';
