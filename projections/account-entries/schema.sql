-- Every posting of every event, with the ledger account's running balance after it.
-- As-of questions sum the postings of events that occurred up to the instant: an event is
-- either wholly in or wholly out, so a trial balance as of any instant is exactly zero.
-- Running balances are numeric, not bigint: a house account (revenue, promo, stripe:clearing)
-- sums every account over all history, which no per-amount bound keeps inside 2^63.
-- Ledger account names are compared byte by byte (COLLATE "C"): they are identifiers, and
-- under the database's locale every index comparison of them went through the locale (a
-- rebuild's sort of the entries index took a quarter longer).
CREATE TABLE IF NOT EXISTS ledger_accounts (
  ledger_account  text COLLATE "C" PRIMARY KEY, -- user:<id>:available, user:<id>:held, revenue, ...
  balance         numeric(38,0) NOT NULL,      -- µcr
  entries         bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS entries (
  ledger_account  text COLLATE "C" NOT NULL,
  entry_no        bigint NOT NULL,             -- 1, 2, ... per ledger account, in log order
  account_id      text   NOT NULL,             -- the user account whose event it is
  event_id        uuid   NOT NULL,
  event_type      text   NOT NULL,
  amount          bigint NOT NULL,             -- µcr, signed (one posting: within the ledger's 10^15 bound)
  balance_after   numeric(38,0) NOT NULL,      -- µcr
  occurred_at     timestamptz NOT NULL,
  log_tx          bigint NOT NULL,             -- the event's log position, for export order
  log_seq         bigint NOT NULL,
  -- An event posts to a ledger account at most once. Log order keeps inserts at the right
  -- edge of the index and is the export's order.
  PRIMARY KEY (log_tx, log_seq, ledger_account)
);

-- One account's balance as of an instant: an index-only sum. (A trial balance as of an
-- instant reads every entry anyway, so it has no index of its own.)
CREATE INDEX IF NOT EXISTS entries_as_of ON entries (ledger_account, occurred_at) INCLUDE (amount);
