-- The staff audit trail's read model (issue 19). The record is the StaffActionRecorded events
-- on the audit-<subject> / audit-unscoped-<month> streams; this table lists them by time, by
-- actor and by subject for `tollgate audit list`. StaffAudit writes a row right after each
-- append (read-your-writes); before listing it compares the number of audit events with the
-- number of rows and, when rows are missing (a crash between an append and its insert), writes
-- them from the log. No personal data in clear: ids, an action name, small scalar details, and
-- the reason as a vault value.

CREATE TABLE staff_audit (
  audit_id          uuid PRIMARY KEY,
  occurred_at       timestamptz NOT NULL,
  actor             text NOT NULL,          -- a user id, or cli:<os user> / system:<job>
  action            text NOT NULL,          -- e.g. users.view, role.grant
  subject_user_id   uuid,                   -- whom it was about; NULL for unscoped entries
  reason            text,                   -- vault value, sealed with reason_sealed_for's key; NULL for reads
  reason_sealed_for uuid,
  details           jsonb NOT NULL DEFAULT '{}'::jsonb,
  stream_id         text NOT NULL,
  stream_version    bigint NOT NULL         -- orders entries of one stream recorded in the same millisecond
);

CREATE INDEX staff_audit_by_time ON staff_audit (occurred_at, stream_id, stream_version);
CREATE INDEX staff_audit_by_subject ON staff_audit (subject_user_id, occurred_at) WHERE subject_user_id IS NOT NULL;
CREATE INDEX staff_audit_by_actor ON staff_audit (actor, occurred_at);
