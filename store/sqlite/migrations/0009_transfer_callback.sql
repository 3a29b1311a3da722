-- A remote consumer's DSP callback address, for messages about its transfer.
ALTER TABLE transfers ADD COLUMN callback TEXT NOT NULL DEFAULT '';
