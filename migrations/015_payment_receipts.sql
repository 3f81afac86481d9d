-- Receipts (issue 20): one row per purchase, written after its credit is durable and before the
-- mail is tried, so a receipt that could not be sent (mail down, a crash) is sent by the retry job.
-- Holds no personal data: the address is looked up when sending.

CREATE TABLE payment_receipts (
  payment_id  text PRIMARY KEY,
  account_id  uuid NOT NULL,
  method      text NOT NULL CHECK (method IN ('card', 'crypto')),
  amount      bigint NOT NULL CHECK (amount > 0),          -- µcr credited
  detail      text NOT NULL,                               -- what paid: "card", "USDC on Base, tx 0x…"
  paid_at     timestamptz NOT NULL,
  sent_at     timestamptz,
  attempts    integer NOT NULL DEFAULT 0,
  last_error  text
);

CREATE INDEX payment_receipts_unsent ON payment_receipts (paid_at) WHERE sent_at IS NULL;
