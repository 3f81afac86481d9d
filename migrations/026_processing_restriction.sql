-- Restriction of processing (issue 21, GDPR Art. 18): a receipt of an account under a
-- restriction is kept, not sent, until the restriction is lifted (deferred_since says since
-- when). The retry job leaves deferred receipts out of its sends and releases an account's
-- receipts once the ledger says its restrictions are lifted; deferral costs no attempt.
ALTER TABLE payment_receipts ADD COLUMN deferred_since timestamptz;
CREATE INDEX payment_receipts_deferred ON payment_receipts (account_id) WHERE deferred_since IS NOT NULL AND sent_at IS NULL;

-- Breach incidents (issue 21): an erased person has no address to notify, so the selections
-- that match people by a query (everyone, activity, data category) leave them out. Who was left
-- out is kept per incident by pseudonymous id only, so the count the status and the report show
-- counts each person once however many selections matched them.
CREATE TABLE incident_left_out (
  incident_id uuid NOT NULL,
  user_id     uuid NOT NULL,
  reason      text NOT NULL CHECK (reason IN ('erased')),
  left_out_at timestamptz NOT NULL,
  PRIMARY KEY (incident_id, user_id)
);

-- Erasure (issue 21): besides the address, the keyed hash of each sign-in identity (provider +
-- subject, the same HMAC as the identity claims use, SecretBox.lookupHash 'identity') of an
-- erased person, and nothing else: a later sign-up through that identity is a new person who is
-- not given the free requests again, even when the provider vouches for no address (GitHub with
-- no verified email, an OIDC provider without the email claim).
CREATE TABLE erased_identities (
  identity_hash text PRIMARY KEY CHECK (identity_hash ~ '^[0-9a-f]{64}$'),
  erased_at     timestamptz NOT NULL
);
