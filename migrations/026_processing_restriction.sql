-- Restriction of processing (issue 21, GDPR Art. 18): a receipt of an account under a
-- restriction is kept, not sent, until the restriction is lifted (deferred_since says since
-- when). The retry job leaves deferred receipts out of its sends and releases an account's
-- receipts once the ledger says its restrictions are lifted; deferral costs no attempt.
ALTER TABLE payment_receipts ADD COLUMN deferred_since timestamptz;
CREATE INDEX payment_receipts_deferred ON payment_receipts (account_id) WHERE deferred_since IS NOT NULL AND sent_at IS NULL;
