-- What the account API's usage and request-log reads need (issue 19).
--
-- GET /api/usage sums an account's requests over up to 92 days by day, model, key or project.
-- Summing request_log itself reads one row per request (a million for a busy account: hundreds
-- of milliseconds), so two rollups are kept beside it, per account and UTC day, one by model and
-- one by key (day and model answers read the first, key and project answers the second: a
-- rollup by day, key and model together would be up to keys × models times larger to sum). A
-- statement trigger keeps them in the same transaction as the rows they count: every writer of
-- the log (the batched writer, the settle journal's replay, COPY) is counted, once, and the
-- rollups never disagree with the log they came from. The batched writer inserts up to 500 rows
-- per statement, so the trigger costs two grouped upserts per batch, not work per request; groups
-- are upserted in key order, so two batches touching the same groups cannot deadlock.
--
-- Like daily_usage, the rollups keep only counts and sums (no request, no person) and outlive
-- the log's 90-day retention: purging request_log rows leaves them as they are. Input tokens are
-- kept as one figure, all the input the model read (uncached, read from and written to the cache).
CREATE TABLE usage_by_model (
  account_id     uuid   NOT NULL,
  day            date   NOT NULL,   -- UTC day of started_at
  model          text   NOT NULL,
  requests       bigint NOT NULL,
  input_tokens   bigint NOT NULL,
  output_tokens  bigint NOT NULL,
  cost_micros    bigint NOT NULL,   -- µcr
  PRIMARY KEY (account_id, day, model)
);

CREATE TABLE usage_by_key (
  account_id     uuid   NOT NULL,
  day            date   NOT NULL,
  key_id         uuid   NOT NULL,
  requests       bigint NOT NULL,
  input_tokens   bigint NOT NULL,
  output_tokens  bigint NOT NULL,
  cost_micros    bigint NOT NULL,
  PRIMARY KEY (account_id, day, key_id)
);

CREATE FUNCTION usage_rollups_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_by_model AS u (account_id, day, model, requests, input_tokens, output_tokens, cost_micros)
  SELECT account_id, (started_at AT TIME ZONE 'UTC')::date, model, count(*),
         sum(input_tokens + cached_tokens + cache_write_tokens)::bigint, sum(output_tokens)::bigint, sum(cost_micros)::bigint
    FROM added_rows
   GROUP BY 1, 2, 3
   ORDER BY 1, 2, 3
  ON CONFLICT (account_id, day, model) DO UPDATE SET
    requests      = u.requests + EXCLUDED.requests,
    input_tokens  = u.input_tokens + EXCLUDED.input_tokens,
    output_tokens = u.output_tokens + EXCLUDED.output_tokens,
    cost_micros   = u.cost_micros + EXCLUDED.cost_micros;
  INSERT INTO usage_by_key AS u (account_id, day, key_id, requests, input_tokens, output_tokens, cost_micros)
  SELECT account_id, (started_at AT TIME ZONE 'UTC')::date, key_id, count(*),
         sum(input_tokens + cached_tokens + cache_write_tokens)::bigint, sum(output_tokens)::bigint, sum(cost_micros)::bigint
    FROM added_rows
   GROUP BY 1, 2, 3
   ORDER BY 1, 2, 3
  ON CONFLICT (account_id, day, key_id) DO UPDATE SET
    requests      = u.requests + EXCLUDED.requests,
    input_tokens  = u.input_tokens + EXCLUDED.input_tokens,
    output_tokens = u.output_tokens + EXCLUDED.output_tokens,
    cost_micros   = u.cost_micros + EXCLUDED.cost_micros;
  RETURN NULL;
END
$$;

-- Only the rows a statement really inserted are in added_rows (ON CONFLICT DO NOTHING skips a replayed row).
CREATE TRIGGER request_log_usage_rollups
  AFTER INSERT ON request_log
  REFERENCING NEW TABLE AS added_rows
  FOR EACH STATEMENT EXECUTE FUNCTION usage_rollups_add();

-- What the log already holds when this runs.
INSERT INTO usage_by_model (account_id, day, model, requests, input_tokens, output_tokens, cost_micros)
SELECT account_id, (started_at AT TIME ZONE 'UTC')::date, model, count(*),
       sum(input_tokens + cached_tokens + cache_write_tokens)::bigint, sum(output_tokens)::bigint, sum(cost_micros)::bigint
  FROM request_log GROUP BY 1, 2, 3;
INSERT INTO usage_by_key (account_id, day, key_id, requests, input_tokens, output_tokens, cost_micros)
SELECT account_id, (started_at AT TIME ZONE 'UTC')::date, key_id, count(*),
       sum(input_tokens + cached_tokens + cache_write_tokens)::bigint, sum(output_tokens)::bigint, sum(cost_micros)::bigint
  FROM request_log GROUP BY 1, 2, 3;

-- GET /api/requests walks an account's log newest first by the keyset (started_at, request_id);
-- this index serves that walk and everything the one it replaces (account_id, started_at) did.
CREATE INDEX request_log_account_keyset ON request_log (account_id, started_at, request_id);
DROP INDEX request_log_account_time;
-- The same walk filtered by key (a key belongs to one account; the account is still checked).
CREATE INDEX request_log_key_keyset ON request_log (key_id, started_at, request_id);
-- Filtered by an error status (`status=429`): failures are few, so only their rows are indexed;
-- a filter on a success status walks the account index above, where matches are dense.
CREATE INDEX request_log_failed_keyset ON request_log (account_id, started_at, request_id) WHERE status >= 400;
