-- Upstream channels (issue 3, "Channels and prices"): where a proxied request may be sent.
-- Managed with `tollgate channels …` and seeded at API start from OPENAI_API_KEY and the like.
-- The upstream key is stored only sealed (AES-256-GCM under ENCRYPTION_KEY, bound to the row
-- id; see src/platform/crypto/secret-box.ts). Its last 4 characters are kept apart so that
-- `channels list` can tell keys apart without decrypting anything.

CREATE TABLE channels (
  id                 uuid PRIMARY KEY,
  name               text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  provider           text NOT NULL CHECK (provider IN ('openai', 'anthropic', 'gemini', 'xai', 'openai-compatible')),
  base_url           text NOT NULL CHECK (base_url ~ '^https?://'),
  api_key_ciphertext text NOT NULL,
  -- NULL for keys too short to show any part of.
  api_key_last4      text CHECK (char_length(api_key_last4) = 4),
  -- Empty: every model the price table lists for the provider.
  models             text[] NOT NULL DEFAULT '{}',
  priority           integer NOT NULL DEFAULT 0,
  weight             integer NOT NULL DEFAULT 1 CHECK (weight > 0),
  enabled            boolean NOT NULL DEFAULT true,
  source             text NOT NULL CHECK (source IN ('env', 'cli')),
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
