-- The event log: append-only, one row per event, hash-chained per stream.
-- Readers of the whole log order by (transaction_id, global_position) and read only below
-- pg_snapshot_xmin(pg_current_snapshot()), so an event whose transaction took its position
-- early and committed late is never skipped (see DESIGN.md, "Event store").

CREATE TABLE event_streams (
  stream_id  text PRIMARY KEY,
  version    bigint NOT NULL DEFAULT 0 CHECK (version >= 0),  -- number of events in the stream
  last_hash  bytea                                             -- hash of its last event
) WITH (fillfactor = 70);  -- every append updates its stream's row: leave room for HOT updates

CREATE TABLE events (
  global_position bigint GENERATED ALWAYS AS IDENTITY,
  transaction_id  xid8   NOT NULL DEFAULT pg_current_xact_id(),
  stream_id       text   NOT NULL,
  stream_version  bigint NOT NULL CHECK (stream_version >= 1),
  event_id        uuid   NOT NULL,
  type            text   NOT NULL,
  data            jsonb  NOT NULL,
  metadata        jsonb  NOT NULL DEFAULT '{}'::jsonb,
  hash            bytea  NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT events_stream_version_unique UNIQUE (stream_id, stream_version),
  CONSTRAINT events_event_id_unique UNIQUE (event_id),
  -- The order in which readers of the whole log see events (and its key).
  CONSTRAINT events_log_order PRIMARY KEY (transaction_id, global_position)
);

-- History is never edited. The only exception is the retention scavenger, which must say so
-- explicitly in its own transaction (SET LOCAL tollgate.allow_event_rewrite = 'on').
CREATE FUNCTION events_forbid_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('tollgate.allow_event_rewrite', true), '') <> 'on' THEN
    RAISE EXCEPTION 'events are immutable: % is not allowed', TG_OP USING ERRCODE = 'P0001';
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;

CREATE TRIGGER events_immutable BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION events_forbid_rewrite();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION events_forbid_rewrite();

-- Reading the whole log in order. A function so that its plan is pinned to the ordered index
-- scan: on a fast-growing table the statistics lag behind, and the planner would otherwise
-- pick a bitmap scan and sort the whole tail of the log for every page.
CREATE FUNCTION events_after(after_tx xid8, after_pos bigint, max_rows integer, prefixes text[])
RETURNS SETOF events LANGUAGE sql STABLE
SET enable_bitmapscan = off SET enable_seqscan = off SET enable_sort = off
AS $$
  SELECT * FROM events
   WHERE (transaction_id, global_position) > (after_tx, after_pos)
     AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
     AND (prefixes IS NULL OR stream_id LIKE ANY(prefixes))
   ORDER BY transaction_id, global_position
   LIMIT max_rows
$$;

-- A group commit in one statement (one round trip, one implicit transaction). The caller hashes
-- each event from the stream heads it believes current (hash chains need the previous hash, and
-- canonical JSON is computed in the application); this function locks the streams in id order,
-- writes the events of every stream whose head is as believed, and returns the real heads of
-- the others, whose appends the caller plans again. A duplicate event id fails the whole call
-- (the caller then takes the slower path that looks ids up first). It does not NOTIFY: a
-- transaction that notifies holds a database-wide lock from its commit until its WAL flush, so
-- group commits would queue behind one another; the caller notifies after the commit instead.
--   heads:  [{"s": stream, "v": believed version, "h": believed hash (hex, null at version 0),
--             "nv": version after, "nh": hash after}]   (sorted by s)
--   events: [{"s", "v", "id", "t", "d", "m", "h"}]        (in append order)
CREATE FUNCTION append_events(heads json, new_events json)
RETURNS TABLE (stale_stream text, stale_version bigint, stale_hash bytea)
LANGUAGE plpgsql AS $$
DECLARE
  stale text[];
BEGIN
  INSERT INTO event_streams (stream_id)
    SELECT x.s FROM json_to_recordset(heads) AS x(s text) ORDER BY 1 ON CONFLICT DO NOTHING;
  SELECT array_agg(l.stream_id) INTO stale
    FROM (SELECT es.stream_id, es.version, es.last_hash FROM event_streams es
           WHERE es.stream_id IN (SELECT x.s FROM json_to_recordset(heads) AS x(s text))
           ORDER BY es.stream_id FOR UPDATE) l
    JOIN json_to_recordset(heads) AS a(s text, v bigint, h text) ON a.s = l.stream_id
   WHERE l.version <> a.v OR l.last_hash IS DISTINCT FROM decode(a.h, 'hex');
  INSERT INTO events (stream_id, stream_version, event_id, type, data, metadata, hash)
    SELECT e.s, e.v, e.id, e.t, e.d, e.m, decode(e.h, 'hex')
      FROM json_to_recordset(new_events) AS e(s text, v bigint, id uuid, t text, d jsonb, m jsonb, h text)
     WHERE stale IS NULL OR e.s <> ALL (stale);
  IF FOUND THEN
    UPDATE event_streams es SET version = a.nv, last_hash = decode(a.nh, 'hex')
      FROM json_to_recordset(heads) AS a(s text, v bigint, nv bigint, nh text)
     WHERE es.stream_id = a.s AND a.nv <> a.v AND (stale IS NULL OR a.s <> ALL (stale));
  END IF;
  RETURN QUERY SELECT es.stream_id, es.version, es.last_hash FROM event_streams es WHERE es.stream_id = ANY (stale);
END $$;
