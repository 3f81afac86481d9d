-- Idempotency-Key of the account API's creating POSTs (src/platform/http/idempotency.ts).
-- scope = account id + route; fingerprint = SHA-256 of the request; resource_id: what the first
-- request created. A secret is never kept here: a replayed key creation answers without it.
-- Rows live 24 hours; older ones are purged lazily and never answered.

CREATE TABLE idempotency_keys (
  scope       text NOT NULL,
  key         text NOT NULL,
  fingerprint text NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
  resource_id text NULL,
  state       text NOT NULL CHECK (state IN ('in_progress', 'done')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, key)
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
