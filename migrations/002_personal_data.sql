-- Crypto-shredding (DESIGN.md, "Privacy promises"): personal data inside events is encrypted
-- with a key per person, kept here and nowhere else. Erasing a person deletes the key, so
-- every copy of their data in the append-only log becomes unreadable while amounts and ids
-- stay, and the ledger still balances and verifies.

CREATE TABLE person_keys (
  person_id  uuid PRIMARY KEY,
  key        bytea NOT NULL CHECK (octet_length(key) = 32),   -- AES-256
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The record that an erasure happened (for the compliance audit), and the reason no new key
-- is ever created for that person afterwards.
CREATE TABLE person_erasures (
  person_id uuid PRIMARY KEY,
  erased_at timestamptz NOT NULL DEFAULT now()
);
