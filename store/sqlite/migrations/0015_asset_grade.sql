-- The level in force of an asset's latest version (GB/T 43697 1–4; 0 before
-- classification), shown in the catalog.
ALTER TABLE assets ADD COLUMN grade INTEGER NOT NULL DEFAULT 0;
