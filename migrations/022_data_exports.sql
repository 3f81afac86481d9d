-- Data exports (issue 21, "Data export (portability)"): one row per export of a person's data,
-- operational state like sessions (the staff audit trail is the record of who asked). The zip
-- is kept 24 hours, in data_export_chunks (unset EXPORT_DIR) or as a file in EXPORT_DIR, then
-- deleted by the purge job; the row stays, so a late download is told `export_expired` (410).
--
-- Each build attempt (a worker killed mid-export is retried by BullMQ) writes under its own
-- attempt number and finishes with a conditional UPDATE on that number: the zip served is the
-- one of the attempt that finished, whole; chunks of other attempts are deleted then.
CREATE TABLE data_exports (
  export_id     uuid PRIMARY KEY,
  user_id       uuid NOT NULL,
  account_id    uuid NOT NULL,
  requested_by  text NOT NULL,                 -- the person's own user id, a staff user id, or system:…
  status        text NOT NULL CHECK (status IN ('queued', 'building', 'ready', 'failed', 'expired')),
  attempt       integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
  rows_done     bigint NOT NULL DEFAULT 0 CHECK (rows_done >= 0),
  rows_total    bigint CHECK (rows_total >= 0), -- known once the build has counted its sections
  storage       text CHECK (storage IN ('postgres', 'dir')),
  size_bytes    bigint CHECK (size_bytes >= 0),
  sha256        text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  error         text,                           -- why it failed (no personal data: a code and our message)
  created_at    timestamptz NOT NULL,
  started_at    timestamptz,
  finished_at   timestamptz,
  expires_at    timestamptz,                    -- finished_at + 24 hours
  deleted_at    timestamptz,
  CHECK (status <> 'ready' OR expires_at IS NOT NULL)
);

-- One export under way per person: of two requests at once, one inserts, the other is 409.
CREATE UNIQUE INDEX data_exports_one_open ON data_exports (user_id) WHERE status IN ('queued', 'building');
CREATE INDEX data_exports_by_user ON data_exports (user_id, created_at DESC);
CREATE INDEX data_exports_to_purge ON data_exports (expires_at) WHERE status = 'ready';
CREATE INDEX data_exports_open ON data_exports (created_at) WHERE status IN ('queued', 'building', 'failed');

-- The zip in Postgres: 1 MiB pieces in order. Streamed back piece by piece on download.
CREATE TABLE data_export_chunks (
  export_id  uuid NOT NULL,
  attempt    integer NOT NULL,
  seq        integer NOT NULL CHECK (seq >= 0),
  data       bytea NOT NULL,
  PRIMARY KEY (export_id, attempt, seq)
);
ALTER TABLE data_export_chunks ALTER COLUMN data SET STORAGE EXTERNAL;  -- already compressed: no TOAST compression
