-- Erasure, the right to be forgotten (issue 21). The person's data key is destroyed
-- (person_keys / person_erasures, migration 002); what is kept here holds no personal data.
--
-- erased_addresses: the keyed hash (HMAC with the server's key, SecretBox.lookupHash) of the
-- address of each erased person, and nothing else: a sign-up with that address later is a new
-- person, who is not given the free requests of a new account again. Without the server key
-- the hash cannot be turned back into the address, nor tested against a list of addresses.
CREATE TABLE erased_addresses (
  email_hash text PRIMARY KEY CHECK (email_hash ~ '^[0-9a-f]{64}$'),
  erased_at  timestamptz NOT NULL
);

-- erasures: one row per erased (or being erased) person, the read model of the
-- `erasure-<userId>` streams, for `tollgate compliance erase` and the staff route: ids, dates,
-- amounts only.
CREATE TABLE erasures (
  user_id         uuid PRIMARY KEY,
  erasure_id      uuid NOT NULL UNIQUE,
  account_id      uuid NOT NULL,
  actor           text NOT NULL,                 -- user:<id> (self-service), a staff user id, or cli:<name>
  status          text NOT NULL CHECK (status IN ('started', 'completed')),
  started_at      timestamptz NOT NULL,
  completed_at    timestamptz,
  forfeited       bigint NOT NULL DEFAULT 0 CHECK (forfeited >= 0 AND forfeited <= 1000000000000000),  -- µcr
  refund_requests uuid[] NOT NULL DEFAULT '{}'
);
