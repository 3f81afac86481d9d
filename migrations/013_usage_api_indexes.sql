-- What the account API's usage and request-log reads need (issue 19).
--
-- GET /api/usage sums an account's requests over up to 92 days by day, model, key or project.
-- Summing request_log itself reads one row per request (a million for a busy account: hundreds
-- of milliseconds), so a rollup per account, UTC day, key and model is kept beside it by a
-- statement trigger, in the same transaction as the rows it counts: every writer of the log
-- (the batched writer, the settle journal's replay, COPY) is counted, once, and the rollup
-- never disagrees with the log it came from. The batched writer inserts up to 500 rows per
-- statement, so the trigger costs one grouped upsert per batch, not one per request; groups are
-- upserted in key order, so two batches touching the same groups cannot deadlock.
--
-- Like daily_usage, the rollup keeps only counts and sums (no request, no person) and outlives
-- the log's 90-day retention: purging request_log rows leaves it as it is.
CREATE TABLE usage_rollup (
  account_id          uuid   NOT NULL,
  day                 date   NOT NULL,   -- UTC day of started_at
  key_id              uuid   NOT NULL,
  model               text   NOT NULL,
  requests            bigint NOT NULL,
  input_tokens        bigint NOT NULL,   -- uncached input, as request_log counts it
  cached_tokens       bigint NOT NULL,
  cache_write_tokens  bigint NOT NULL,
  output_tokens       bigint NOT NULL,
  cost_micros         bigint NOT NULL,   -- µcr
  PRIMARY KEY (account_id, day, key_id, model)
);

CREATE FUNCTION usage_rollup_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_rollup AS u
    (account_id, day, key_id, model, requests, input_tokens, cached_tokens, cache_write_tokens, output_tokens, cost_micros)
  SELECT account_id, (started_at AT TIME ZONE 'UTC')::date, key_id, model, count(*),
         sum(input_tokens)::bigint, sum(cached_tokens)::bigint, sum(cache_write_tokens)::bigint,
         sum(output_tokens)::bigint, sum(cost_micros)::bigint
    FROM added_rows
   GROUP BY 1, 2, 3, 4
   ORDER BY 1, 2, 3, 4
  ON CONFLICT (account_id, day, key_id, model) DO UPDATE SET
    requests           = u.requests + EXCLUDED.requests,
    input_tokens       = u.input_tokens + EXCLUDED.input_tokens,
    cached_tokens      = u.cached_tokens + EXCLUDED.cached_tokens,
    cache_write_tokens = u.cache_write_tokens + EXCLUDED.cache_write_tokens,
    output_tokens      = u.output_tokens + EXCLUDED.output_tokens,
    cost_micros        = u.cost_micros + EXCLUDED.cost_micros;
  RETURN NULL;
END
$$;

-- Only the rows a statement really inserted are in added_rows (ON CONFLICT DO NOTHING skips a replayed row).
CREATE TRIGGER request_log_usage_rollup
  AFTER INSERT ON request_log
  REFERENCING NEW TABLE AS added_rows
  FOR EACH STATEMENT EXECUTE FUNCTION usage_rollup_add();

-- What the log already holds when this runs.
INSERT INTO usage_rollup
  (account_id, day, key_id, model, requests, input_tokens, cached_tokens, cache_write_tokens, output_tokens, cost_micros)
SELECT account_id, (started_at AT TIME ZONE 'UTC')::date, key_id, model, count(*),
       sum(input_tokens)::bigint, sum(cached_tokens)::bigint, sum(cache_write_tokens)::bigint,
       sum(output_tokens)::bigint, sum(cost_micros)::bigint
  FROM request_log
 GROUP BY 1, 2, 3, 4;

-- GET /api/requests walks an account's log newest first by the keyset (started_at, request_id);
-- this index serves that walk and everything the one it replaces (account_id, started_at) did.
CREATE INDEX request_log_account_keyset ON request_log (account_id, started_at, request_id);
DROP INDEX request_log_account_time;
-- The same walk filtered by key (a key belongs to one account; the account is still checked).
CREATE INDEX request_log_key_keyset ON request_log (key_id, started_at, request_id);
-- Filtered by an error status (`status=429`): failures are few, so only their rows are indexed;
-- a filter on a success status walks the account index above, where matches are dense.
CREATE INDEX request_log_failed_keyset ON request_log (account_id, started_at, request_id) WHERE status >= 400;
