-- Links sent by mail (issue 19): sign-in links and, with AUTH_PASSWORDS, sign-up verification
-- and password-reset links. One row per link. Only the SHA-256 of the token is kept: the token
-- itself exists only in the mail. The address is needed when the link is used (the person may
-- not exist yet, so has no vault key): it is sealed with the server key (SecretBox), bound to
-- this row, and the row is deleted once the link has expired. A link is used at most once
-- (used_at set by one conditional UPDATE).
CREATE TABLE magic_link_tokens (
  token_hash    bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
  purpose       text NOT NULL CHECK (purpose IN ('sign_in', 'sign_up', 'reset')),
  email_hash    text NOT NULL CHECK (email_hash ~ '^[0-9a-f]{64}$'),
  email         text NOT NULL,              -- SecretBox value
  password_hash text,                       -- SecretBox value (sign_up only): argon2id, set on the user when verified
  created_at    timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL,
  used_at       timestamptz,
  CHECK (expires_at > created_at),
  CHECK ((purpose = 'sign_up') = (password_hash IS NOT NULL))
);
CREATE INDEX magic_link_tokens_by_expiry ON magic_link_tokens (expires_at);
