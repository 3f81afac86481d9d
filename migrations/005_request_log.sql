-- One row per proxied request: metadata only, never a prompt or a completion (DESIGN.md,
-- "Privacy promises"). It answers GET /v1/generations/<id> (the receipt) and usage reports,
-- and is purged after 90 days by the retention job, which is why it is a table and not events:
-- the money side of each request (hold, settle, void) is in the ledger for good.
CREATE TABLE request_log (
  request_id        text PRIMARY KEY,
  account_id        uuid NOT NULL,
  key_id            uuid NOT NULL,
  started_at        timestamptz NOT NULL,
  endpoint          text NOT NULL,            -- e.g. openai.chat, anthropic.messages, gemini.generate
  model             text NOT NULL,
  provider          text,
  channel_id        uuid,
  stream            boolean NOT NULL,
  status            integer NOT NULL,         -- the HTTP status the client got
  error_code        text,                     -- our stable code when we refused or failed it
  input_tokens      bigint NOT NULL DEFAULT 0,
  cached_tokens     bigint NOT NULL DEFAULT 0,
  cache_write_tokens bigint NOT NULL DEFAULT 0,
  output_tokens     bigint NOT NULL DEFAULT 0,
  estimated         boolean NOT NULL DEFAULT false,
  free_request      boolean NOT NULL DEFAULT false,
  held_micros       bigint NOT NULL DEFAULT 0,
  cost_micros       bigint NOT NULL DEFAULT 0,
  billing           text NOT NULL,            -- settled | voided | free | none | unbilled
  price_version     integer,
  unit_prices       jsonb,                    -- µcr per million tokens used for this charge, and the margin
  latency_ms        integer NOT NULL,
  ttfb_ms           integer,
  attempts          integer NOT NULL DEFAULT 1
);

CREATE INDEX request_log_account_time ON request_log (account_id, started_at);
CREATE INDEX request_log_started_at ON request_log (started_at);  -- the 90-day purge
