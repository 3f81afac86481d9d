-- Settled requests (late settles included) per account, UTC day and model: metadata only, never content.
CREATE TABLE IF NOT EXISTS daily_usage (
  account_id          text   NOT NULL,
  day                 date   NOT NULL,
  model               text   NOT NULL,
  requests            bigint NOT NULL,
  input_tokens        bigint NOT NULL,
  output_tokens       bigint NOT NULL,
  cached_tokens       bigint NOT NULL,
  cost                bigint NOT NULL,    -- µcr
  estimated_requests  bigint NOT NULL,    -- requests whose tokens were estimated (cut streams)
  PRIMARY KEY (account_id, day, model)
);
