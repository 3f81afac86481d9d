-- A receipt being sent is claimed for a while (claimed_until) rather than locked: the sender
-- holds no database connection while it talks to the mail server.
ALTER TABLE payment_receipts ADD COLUMN claimed_until timestamptz;
