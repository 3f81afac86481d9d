-- People and their sessions (issue 19; DESIGN.md, "Accounts and sign-in").
--
-- users: the read model of the `user-<id>` streams, written by UsersService right after each
-- append (read-your-writes for sign-in and the guard) and rebuilt from the streams by
-- `ledger replay`. Personal fields hold vault values (sealed with the person's key); the email
-- is found by its keyed hash (SecretBox.lookupHash), never by the address.
CREATE TABLE users (
  user_id      uuid PRIMARY KEY,
  account_id   uuid NOT NULL,
  email_hash   text UNIQUE CHECK (email_hash ~ '^[0-9a-f]{64}$'),
  email        text,                        -- vault value
  display_name text,                        -- vault value
  roles        text[] NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL,
  version      bigint NOT NULL CHECK (version > 0)   -- stream version folded in: a row only moves forward
);
CREATE INDEX users_by_account ON users (account_id);
CREATE INDEX users_with_roles ON users (user_id) WHERE roles <> '{}';

-- Sessions are operational state, not events (a sign-in is an event on the user's stream).
-- Only the SHA-256 of the cookie's 32 random bytes is kept. The IP is sealed with the person's
-- key; the device is a coarse label ("Firefox on Linux"), not the user agent.
CREATE TABLE sessions (
  session_id   uuid PRIMARY KEY,
  token_hash   bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
  user_id      uuid NOT NULL,
  method       text NOT NULL,
  device       text NOT NULL,
  ip           text,                        -- vault value
  csrf_secret  text NOT NULL,
  created_at   timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id, created_at);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
