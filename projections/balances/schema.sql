-- Current balance of every account: what the proxy and the account API read.
CREATE TABLE IF NOT EXISTS balances (
  account_id          text PRIMARY KEY,
  available           bigint NOT NULL DEFAULT 0,   -- µcr
  held                bigint NOT NULL DEFAULT 0,   -- µcr
  receivable          bigint NOT NULL DEFAULT 0,   -- µcr owed from late settles and lost disputes (available is 0 while > 0)
  frozen              bigint NOT NULL DEFAULT 0,   -- µcr set aside for an approved refund or a dispute
  lifetime_purchased  bigint NOT NULL DEFAULT 0,   -- µcr
  lifetime_spent      bigint NOT NULL DEFAULT 0,   -- µcr
  free_requests       integer NOT NULL DEFAULT 0,
  version             bigint NOT NULL DEFAULT 0,   -- account stream version last applied
  updated_at          timestamptz NOT NULL
);
