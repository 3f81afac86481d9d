-- A stream whose first append failed its version check (say, expected version 5 of a stream
-- that did not exist) kept a row at version 0, and append_events (007) wrote the genesis hash
-- (32 zero bytes) into it as its "last hash", while every writer believes a stream at version 0
-- has none (null). From then on no append to that stream could succeed: each was found stale,
-- planned again from the same head, and found stale again, for ever (the caller hung and the
-- store spent a connection on it). Writers now leave a version-0 row's hash null, and the head
-- check compares hashes only past version 0 (a stream at version 0 has no chain yet), so rows
-- written before this migration are accepted as they are: nothing is rewritten.
--
-- Batches for one stream no longer come here (append-one-stream.ts, issue 23); this function
-- writes the batches that span several streams.
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
     WHERE es.stream_id = a.s AND es.version = a.v AND (a.v = 0 OR es.last_hash IS NOT DISTINCT FROM a.h)
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
