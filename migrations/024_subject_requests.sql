-- Data-subject requests (issue 21): the read table of the `dsr-<id>` streams, for lists (the
-- person's own; staff's by status, overdue first). Written by the requests service right after
-- each event it appends (write-through: the stream is the record, a row is rewritten from the
-- folded stream; `tollgate ledger replay` rebuilds it). `details` (the person's words) and `note`
-- (the closing note or decline reason) are sealed with the person's vault key (v1:… values):
-- after an erasure they are noise, while kind, dates and outcome stay as the record of the answer.

CREATE TABLE subject_requests (
  request_id     uuid PRIMARY KEY,
  user_id        uuid NOT NULL,
  account_id     uuid NOT NULL,
  kind           text NOT NULL CHECK (kind IN ('access', 'export', 'correction', 'deletion', 'restriction')),
  details        text,
  opened_by      text NOT NULL,
  opened_at      timestamptz NOT NULL,
  due_at         timestamptz NOT NULL,
  status         text NOT NULL CHECK (status IN ('open', 'closed', 'declined')),
  outcome        text CHECK (outcome IN ('fulfilled', 'partially_fulfilled', 'no_data_held', 'restricted')),
  note           text,
  closed_by      text,
  closed_at      timestamptz,
  restriction_id uuid,
  version        bigint NOT NULL
);

CREATE INDEX subject_requests_by_user ON subject_requests (user_id, opened_at DESC, request_id DESC);
CREATE INDEX subject_requests_by_status ON subject_requests (status, opened_at DESC, request_id DESC);
CREATE INDEX subject_requests_open_by_due ON subject_requests (due_at) WHERE status = 'open';
