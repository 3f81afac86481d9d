-- Low-balance alerts (issue 20): one row per account whose holder set a threshold
-- (PATCH /api/me {lowBalanceAlert}). The check job compares it with the account's balance:
-- available plus held (rm_balances.balances; a hold is credit reserved for a running request,
-- not spent):
--   armed, balance < threshold        → disarmed, and an alert marked pending, in one UPDATE
--                                       (so two checks at once mark it once);
--   pending                           → leased to one sender (lease_token, lease_until: a short
--                                       UPDATE, no transaction held while the mail server is
--                                       talked to, since an open transaction would hold back every
--                                       reader of the event log), mailed, the outcome recorded under
--                                       the lease; a failure is counted, kept in last_error, and
--                                       tried again after next_try_at, a bounded number of times;
--   not armed, balance >= threshold   → armed again (an alert still unsent is dropped: it is
--                                       no longer true).
-- Holds no personal data: the address is opened from the vault when sending.

CREATE TABLE low_balance_alerts (
  account_id     uuid PRIMARY KEY,
  user_id        uuid NOT NULL,                               -- who set it: the mail goes to them
  threshold      bigint NOT NULL CHECK (threshold > 0 AND threshold <= 1000000000000000), -- µcr, ≤ MAX_MICROS
  armed          boolean NOT NULL DEFAULT true,
  -- The account's ledger stream version when the threshold was set: balances read-model rows
  -- older than it describe a moment before the threshold applied and are not acted on (a
  -- threshold set just after a purchase the read model has not applied yet is not a fall).
  from_version   bigint NOT NULL DEFAULT 0 CHECK (from_version >= 0),
  pending_since  timestamptz,                                 -- an alert to send, since it fell below
  next_try_at    timestamptz,                                 -- after a failed send: not before then
  attempts       integer NOT NULL DEFAULT 0 CHECK (attempts >= 0), -- failed sends of the pending alert
  last_error     text,                                        -- why the last send failed (no content, no address)
  lease_token    uuid,                                        -- the sender that holds it now
  lease_until    timestamptz,                                 -- its lease ends then (a crashed sender's alert is sent again after)
  last_sent_at   timestamptz,
  sent_count     integer NOT NULL DEFAULT 0,
  updated_at     timestamptz NOT NULL,
  CHECK (pending_since IS NULL OR NOT armed)
);

CREATE INDEX low_balance_alerts_pending ON low_balance_alerts (pending_since) WHERE pending_since IS NOT NULL;
