-- Projects (stream `project-<id>`), the project of each API key, when a key was last used, and
-- management keys (stream `mgmtkey-<id>`). Every row here is written from its stream right
-- after the append (read-your-writes), as api_keys is; last_used_at columns are operational
-- state (not events), kept at most a minute stale.

CREATE TABLE projects (
  project_id  uuid PRIMARY KEY,
  account_id  uuid NOT NULL,
  name        text NOT NULL,
  archived_at timestamptz NULL,
  created_at  timestamptz NOT NULL,
  version     bigint NOT NULL CHECK (version > 0)
);

-- One live project of a name per account, whatever its case; archived names may be reused.
CREATE UNIQUE INDEX projects_live_name ON projects (account_id, lower(name)) WHERE archived_at IS NULL;
CREATE INDEX projects_by_account ON projects (account_id, created_at, project_id);

-- Filled for every key by the start step (ProjectBackfill) and for every key created since.
ALTER TABLE api_keys ADD COLUMN project_id uuid NULL;
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz NULL;
CREATE INDEX api_keys_by_project ON api_keys (project_id);

CREATE TABLE management_keys (
  key_id       uuid PRIMARY KEY,
  account_id   uuid NOT NULL,
  user_id      uuid NOT NULL,
  name         text NOT NULL,
  hash         text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),   -- sha256 hex of the secret, never the secret
  prefix       text NOT NULL,                                    -- display: 'tg-mgmt-' + 4 chars
  last4        text NOT NULL,
  created_at   timestamptz NOT NULL,
  revoked_at   timestamptz NULL,
  last_used_at timestamptz NULL,
  version      bigint NOT NULL CHECK (version > 0),
  CONSTRAINT management_keys_hash_unique UNIQUE (hash)
);

CREATE INDEX management_keys_by_account ON management_keys (account_id, created_at, key_id);
