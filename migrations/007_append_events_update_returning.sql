-- append_events (006) checked the heads by locking every stream of the batch with SELECT ...
-- FOR UPDATE and joining the locked rows with the believed heads. With hash and merge joins
-- turned off (006), that join was a nested loop over the unnested arrays: quadratic in the
-- streams of a batch (a batch of 500 single-event appends compared 250,000 pairs), and with
-- the lock's own WAL record and the UPDATE after it, each stream's row was found and written
-- twice. Under the benchmark's load it was 43% of the function's time.
--
-- Now the UPDATE is the check: it moves a stream on only where its row still holds the
-- believed head, and it locks the row while doing so (in id order, the order of the arrays;
-- a row a concurrent batch is writing is waited for and then checked again). Streams it did
-- not move are stale. A stream believed new gets its row first (version 0), as before.
CREATE OR REPLACE FUNCTION append_events(heads json, new_events json)
RETURNS TABLE (stale_stream text, stale_version bigint, stale_hash bytea)
LANGUAGE plpgsql
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
AS $$
DECLARE
  ids text[];
  believed bigint[];
  believed_hash bytea[];
  next_version bigint[];
  next_hash bytea[];
  moved text[];
  stale text[];
BEGIN
  SELECT array_agg(x.s ORDER BY x.s), array_agg(x.v ORDER BY x.s), array_agg(decode(x.h, 'hex') ORDER BY x.s),
         array_agg(x.nv ORDER BY x.s), array_agg(decode(x.nh, 'hex') ORDER BY x.s)
    INTO ids, believed, believed_hash, next_version, next_hash
    FROM json_to_recordset(heads) AS x(s text, v bigint, h text, nv bigint, nh text);
  IF 0 = ANY (believed) THEN
    INSERT INTO event_streams (stream_id)
      SELECT a.s FROM unnest(ids, believed) AS a(s, v) WHERE a.v = 0 ORDER BY 1 ON CONFLICT DO NOTHING;
  END IF;
  -- A stream with no new events (its call failed its version check against the believed head)
  -- is updated to the same values: that still locks and checks the head the answer relied on.
  WITH m AS (
    UPDATE event_streams es SET version = a.nv, last_hash = a.nh
      FROM unnest(ids, believed, believed_hash, next_version, next_hash) AS a(s, v, h, nv, nh)
     WHERE es.stream_id = a.s AND es.version = a.v AND es.last_hash IS NOT DISTINCT FROM a.h
    RETURNING es.stream_id
  )
  SELECT array_agg(m.stream_id) INTO moved FROM m;
  IF coalesce(cardinality(moved), 0) < cardinality(ids) THEN
    SELECT array_agg(s) INTO stale FROM unnest(ids) AS s WHERE moved IS NULL OR s <> ALL (moved);
  END IF;
  INSERT INTO events (stream_id, stream_version, event_id, type, data, metadata, hash)
    SELECT e.s, e.v, e.id, e.t, e.d, e.m, decode(e.h, 'hex')
      FROM json_to_recordset(new_events) AS e(s text, v bigint, id uuid, t text, d jsonb, m jsonb, h text)
     WHERE stale IS NULL OR e.s <> ALL (stale);
  -- Every stale stream is answered, so its calls are planned again rather than taken as written.
  RETURN QUERY SELECT s, coalesce(es.version, 0), es.last_hash
    FROM unnest(stale) AS s LEFT JOIN event_streams es ON es.stream_id = s;
END $$;
