-- Outbound DSP messages, kept until the peer has acknowledged them, so a restart or an
-- unreachable peer loses nothing.
CREATE TABLE outbox (
  id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  body TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at BIGINT NOT NULL,
  sent_at BIGINT,
  last_error TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_at) WHERE sent_at IS NULL;
