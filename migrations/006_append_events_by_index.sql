-- append_events (001) found its streams by joining event_streams with json_to_recordset, which
-- the planner guesses at 100 rows: once the table held some thousands of streams it chose a
-- hash join over a sequential scan of every stream, twice per append (3.8 ms of CPU per
-- single-event append at 13,000 streams, against 0.3 ms for the insert itself), so every
-- append slowed down as accounts were added. The same function, now reading the heads into
-- arrays once and reaching each stream through its primary key whatever the statistics say.
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
  stale text[];
BEGIN
  SELECT array_agg(x.s ORDER BY x.s), array_agg(x.v ORDER BY x.s), array_agg(decode(x.h, 'hex') ORDER BY x.s),
         array_agg(x.nv ORDER BY x.s), array_agg(decode(x.nh, 'hex') ORDER BY x.s)
    INTO ids, believed, believed_hash, next_version, next_hash
    FROM json_to_recordset(heads) AS x(s text, v bigint, h text, nv bigint, nh text);
  INSERT INTO event_streams (stream_id) SELECT unnest(ids) ORDER BY 1 ON CONFLICT DO NOTHING;
  SELECT array_agg(l.stream_id) INTO stale
    FROM (SELECT es.stream_id, es.version, es.last_hash FROM event_streams es
           WHERE es.stream_id = ANY (ids)
           ORDER BY es.stream_id FOR UPDATE) l
    JOIN unnest(ids, believed, believed_hash) AS a(s, v, h) ON a.s = l.stream_id
   WHERE l.version <> a.v OR l.last_hash IS DISTINCT FROM a.h;
  INSERT INTO events (stream_id, stream_version, event_id, type, data, metadata, hash)
    SELECT e.s, e.v, e.id, e.t, e.d, e.m, decode(e.h, 'hex')
      FROM json_to_recordset(new_events) AS e(s text, v bigint, id uuid, t text, d jsonb, m jsonb, h text)
     WHERE stale IS NULL OR e.s <> ALL (stale);
  IF FOUND THEN
    UPDATE event_streams es SET version = a.nv, last_hash = a.nh
      FROM unnest(ids, believed, next_version, next_hash) AS a(s, v, nv, nh)
     WHERE es.stream_id = a.s AND a.nv <> a.v AND (stale IS NULL OR a.s <> ALL (stale));
  END IF;
  RETURN QUERY SELECT es.stream_id, es.version, es.last_hash FROM event_streams es WHERE es.stream_id = ANY (stale);
END $$;
