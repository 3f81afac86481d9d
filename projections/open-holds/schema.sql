-- Holds placed and not yet settled, voided or expired: what the hold-expiry sweep looks for.
-- A hold nobody settles (its API process died) stays here until its expiry passes; the worker
-- then expires it and the credit returns.
CREATE TABLE IF NOT EXISTS open_holds (
  hold_id     text PRIMARY KEY,
  account_id  text NOT NULL,
  amount      bigint NOT NULL,       -- µcr
  expires_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS open_holds_by_expiry ON open_holds (expires_at);
