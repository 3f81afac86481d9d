-- Usage retention (issue 21). Per-request usage metadata inside ledger events (HoldSettled's
-- model and tokens, HoldPlaced's key) is sealed with a key of its UTC day; destroying the key
-- when the day passes retention makes that copy unreadable without editing the log (the hash
-- chain covers the ciphertext, so `ledger verify` stays green). Amounts stay in plaintext.
CREATE TABLE usage_day_keys (
  day         date PRIMARY KEY,
  key         bytea NOT NULL CHECK (octet_length(key) = 32),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row: where retention stands. `forgotten_before`: no key of a day before it exists or may
-- be created again (a late writer sealing for a forgotten day is refused). `closed_through`: the
-- last UTC day whose aggregates were written as UsageDayClosed events (usage-<account>-<day>).
-- `last_run_at` lets a worker that was down run the missed pass as soon as it starts.
CREATE TABLE usage_retention (
  id                int PRIMARY KEY CHECK (id = 1),
  forgotten_before  date,
  closed_through    date,
  last_run_at       timestamptz,
  last_run          jsonb          -- what the last pass did (counts only)
);
INSERT INTO usage_retention (id) VALUES (1);
