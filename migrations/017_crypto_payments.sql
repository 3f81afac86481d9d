-- USDC/USDT payments on chain (issue 20). The event store keeps what was credited (a stream
-- chain-<chainId>-<txHash>-<logIndex> per transfer, created with "no stream", then the ledger's
-- CryptoPaymentCredited); these tables are the scanner's working records and the API's reads.

-- An intent: "send exactly `amount` units of this token to this address". The amount is what was
-- asked plus an offset of 1..10000 units (at most 0.01), unique among the open intents of a
-- (chain, token): the partial unique index below makes concurrent intents take distinct amounts.
CREATE TABLE crypto_intents (
  intent_id      uuid PRIMARY KEY,
  account_id     uuid NOT NULL,
  chain_id       integer NOT NULL CHECK (chain_id > 0),
  token          text NOT NULL,                                   -- symbol: USDC, USDT
  token_address  text NOT NULL CHECK (token_address ~ '^0x[0-9a-f]{40}$'),
  address        text NOT NULL CHECK (address ~ '^0x[0-9a-f]{40}$'), -- the operator's receiving address
  amount         bigint NOT NULL CHECK (amount > 0),              -- token units (6 decimals) = µcr
  created_at     timestamptz NOT NULL,
  expires_at     timestamptz NOT NULL,
  status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'seen', 'credited', 'expired', 'rejected')),
  payment_id     text                                             -- the deposit it was matched to
);

CREATE UNIQUE INDEX crypto_intents_open_amount ON crypto_intents (chain_id, token_address, amount) WHERE status IN ('pending', 'seen');
CREATE INDEX crypto_intents_by_account ON crypto_intents (account_id, created_at DESC);

-- Every Transfer of a configured token to the receiving address the scanner saw. `from_sealed` is
-- the paying wallet, encrypted with the data key of the account owner once the deposit is
-- credited to an account (before that the chain is its record and nothing is kept).
CREATE TABLE crypto_deposits (
  payment_id     text PRIMARY KEY CHECK (payment_id ~ '^chain-[0-9]+-0x[0-9a-f]{64}-[0-9]+$'),
  chain_id       integer NOT NULL,
  tx_hash        text NOT NULL CHECK (tx_hash ~ '^0x[0-9a-f]{64}$'),   -- lower case
  log_index      integer NOT NULL CHECK (log_index >= 0),
  token          text NOT NULL,
  token_address  text NOT NULL,
  amount         numeric(78, 0) NOT NULL CHECK (amount >= 0),      -- as the log says (uint256)
  block_number   bigint NOT NULL,
  block_hash     text NOT NULL,
  block_time     timestamptz,
  confirmations  integer NOT NULL DEFAULT 0,
  status         text NOT NULL CHECK (status IN ('seen', 'credited', 'unclaimed', 'rejected')),
  reason         text,                                             -- why rejected
  intent_id      uuid,
  account_id     uuid,
  from_sealed    text,
  seen_at        timestamptz NOT NULL,
  settled_at     timestamptz
);

CREATE INDEX crypto_deposits_by_tx ON crypto_deposits (chain_id, tx_hash);
CREATE INDEX crypto_deposits_seen ON crypto_deposits (chain_id, block_number) WHERE status = 'seen';

-- Where each chain's scan goes on from: every block below next_block is final and processed.
CREATE TABLE crypto_scan_checkpoints (
  chain_id    integer PRIMARY KEY,
  next_block  bigint NOT NULL CHECK (next_block >= 0),
  updated_at  timestamptz NOT NULL
);
