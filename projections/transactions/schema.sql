-- Money that came in or went out of an account from outside a request: purchases, crypto
-- payments, promo grants, refunds and adjustments; and what a late settle left owing and how
-- that was repaid (the two kinds sum to minus the receivable). What an account's billing page lists.
CREATE TABLE IF NOT EXISTS transactions (
  event_id     uuid PRIMARY KEY,
  account_id   text NOT NULL,
  kind         text NOT NULL,        -- purchase | crypto_payment | grant | refund | adjustment | receivable | receivable_repaid
  amount       bigint NOT NULL,      -- µcr, signed from the account's side (receivable: −owed; receivable_repaid: +repaid, of the debt)
  reference    text NOT NULL,        -- payment, grant, refund or adjustment id
  reason       text,
  occurred_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS transactions_by_account ON transactions (account_id, occurred_at);
