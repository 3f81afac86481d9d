-- The read model of API keys, shaped for authentication (one lookup by hash) and for listing an
-- account's keys. Each row is a pure function of its stream `apikey-<key_id>`: KeysService
-- writes it from the folded stream right after appending, guarded by the stream version
-- (a row only moves forward), and KeysService.reconcile() repairs any row behind its stream.
-- Only the SHA-256 of a secret is kept, never the secret.

CREATE TABLE api_keys (
  key_id           text PRIMARY KEY,
  account_id       text NOT NULL,
  project          text NOT NULL,
  name             text NOT NULL,
  hash             text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),   -- sha256 hex of the secret
  prefix           text NOT NULL,                                    -- display: 'tg-' + 4 chars
  last4            text NOT NULL,
  status           text NOT NULL CHECK (status IN ('active', 'revoked')),
  models           text[],            -- allowlist; NULL: every model
  spend_cap_micros bigint CHECK (spend_cap_micros >= 0),
  expires_at       timestamptz,
  rpm              integer CHECK (rpm > 0),
  tpm              integer CHECK (tpm > 0),
  version          bigint NOT NULL CHECK (version > 0),              -- stream version folded in
  created_at       timestamptz NOT NULL,
  revoked_at       timestamptz,
  CONSTRAINT api_keys_hash_unique UNIQUE (hash)
);

CREATE INDEX api_keys_by_account ON api_keys (account_id, created_at);
