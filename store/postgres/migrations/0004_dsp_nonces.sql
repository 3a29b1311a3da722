-- Nonces of signed requests from peer connectors, kept for the replay window.
CREATE TABLE dsp_nonces (
  nonce TEXT PRIMARY KEY,
  seen_at BIGINT NOT NULL
);
CREATE INDEX dsp_nonces_seen ON dsp_nonces (seen_at);
