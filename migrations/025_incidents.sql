-- Breach incidents (issue 21): the `incident-<id>` streams are the record; these tables serve
-- the lists and the fan-out of notices. Neither holds personal data: people by user id only.

-- One row per incident, rewritten from the folded stream after each staff step.
CREATE TABLE incidents (
  incident_id  uuid PRIMARY KEY,
  title        text NOT NULL,
  status       text NOT NULL CHECK (status IN ('open', 'confirmed', 'closed')),
  opened_at    timestamptz NOT NULL,
  confirmed_at timestamptz,
  closed_at    timestamptz,
  version      bigint NOT NULL CHECK (version > 0)
);
CREATE INDEX incidents_by_opened ON incidents (opened_at DESC, incident_id DESC);

-- One row per incident and affected person (the primary key: a person is selected, queued and
-- notified once per incident). A sender claims a row for a lease (claimed_until) instead of
-- locking it, as payment_receipts does: no connection is held while the mail server answers,
-- and a sender killed mid-send leaves a claim that lapses. Attempts back off (next_attempt_at).
-- `recorded` is false while the row's latest outcome is not yet an event on the incident stream
-- (a crash between the two): the next run appends it.
CREATE TABLE incident_notices (
  incident_id     uuid NOT NULL,
  user_id         uuid NOT NULL,
  selected_at     timestamptz NOT NULL,
  queued_at       timestamptz,
  next_attempt_at timestamptz,
  claimed_until   timestamptz,
  attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  sent_at         timestamptz,
  failed_at       timestamptz,                -- given up: attempts exhausted, or no address left
  last_error      text,                       -- a code only, never a mail server's message
  last_attempt_at timestamptz,
  recorded        boolean NOT NULL DEFAULT true,
  PRIMARY KEY (incident_id, user_id),
  CHECK (sent_at IS NULL OR failed_at IS NULL)
);
CREATE INDEX incident_notices_due ON incident_notices (next_attempt_at)
  WHERE queued_at IS NOT NULL AND sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX incident_notices_unrecorded ON incident_notices (incident_id) WHERE NOT recorded;
