-- Refund requests (issue 20): the read table of the `refundrequest-<id>` streams, for lists (the
-- person's own, and staff's by status). Written by the refunds service right after each event it
-- appends (write-through: the stream is the record; a row is rewritten from the folded stream).
-- The partial unique index is what lets one purchase have at most one open request: the row is
-- inserted before the RefundRequested event, so of two requests at once only one gets a row.
-- `reason` is the person's own words, sealed with their personal-data key (v1:… vault value).

CREATE TABLE refund_requests (
  request_id       uuid PRIMARY KEY,
  account_id       uuid NOT NULL,
  user_id          uuid NOT NULL,
  payment_id       text NOT NULL,
  method           text NOT NULL CHECK (method IN ('card', 'crypto')),
  amount           bigint NOT NULL CHECK (amount > 0 AND amount <= 1000000000000000),  -- µcr
  reason           text NOT NULL,
  status           text NOT NULL CHECK (status IN ('requested', 'approved', 'completed', 'declined', 'failed')),
  purchased_at     timestamptz NOT NULL,
  requested_at     timestamptz NOT NULL,
  decided_at       timestamptz,
  decided_by       text,
  decision_reason  text,
  stripe_refund_id text,
  tx_hash          text,
  failure          text
);

CREATE UNIQUE INDEX refund_requests_one_open_per_purchase ON refund_requests (payment_id) WHERE status IN ('requested', 'approved');
CREATE INDEX refund_requests_by_account ON refund_requests (account_id, requested_at DESC, request_id DESC);
CREATE INDEX refund_requests_by_status ON refund_requests (status, requested_at DESC, request_id DESC);
