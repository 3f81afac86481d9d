-- Money that came in or went out of an account from outside a request: purchases, crypto
-- payments, promo grants, refunds and adjustments. What an account's billing page lists.
CREATE TABLE IF NOT EXISTS transactions (
  event_id     uuid PRIMARY KEY,
  account_id   text NOT NULL,
  kind         text NOT NULL,        -- purchase | crypto_payment | grant | refund | adjustment
  amount       bigint NOT NULL,      -- µcr, signed from the account's side
  reference    text NOT NULL,        -- payment, grant, refund or adjustment id
  reason       text,
  occurred_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS transactions_by_account ON transactions (account_id, occurred_at);
