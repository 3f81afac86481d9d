-- What each API key spent per UTC day: the settled cost of the holds placed for it (late
-- settles included), counted on the day of the settle. Plaintext aggregates, never content;
-- spend caps rebuild a lost Redis counter from them (proxy/limits/spend-caps.ts), and they
-- outlive the request log's retention.
CREATE TABLE IF NOT EXISTS key_spend (
  key_id      text   NOT NULL,
  day         date   NOT NULL,
  account_id  text   NOT NULL,
  spent       bigint NOT NULL,    -- µcr
  requests    bigint NOT NULL,
  PRIMARY KEY (key_id, day)
);

-- The key of each hold placed for one, until the hold is settled or voided: a settle event
-- names only its hold. A hold that expired stays, because its late settle (HoldSettledLate)
-- may still come and must be counted for the key. The key on a hold is usage metadata: the
-- retention pass deletes the rows of holds placed before retention (compliance/retention), which
-- a replay would not make again either (their sealed key no longer opens).
CREATE TABLE IF NOT EXISTS key_holds (
  hold_id     text PRIMARY KEY,
  key_id      text NOT NULL,
  account_id  text NOT NULL,
  placed_on   date            -- UTC day of the HoldPlaced
);
