-- Redemption codes (issue 20): which batch a code belongs to, found by the SHA-256 of the
-- normalised code (a code is never stored in clear). Written after the batch's
-- CodeBatchIssued event, from it; the event stream codebatch-<id> stays the record.

CREATE TABLE redemption_codes (
  code_hash text PRIMARY KEY CHECK (code_hash ~ '^[0-9a-f]{64}$'),
  batch_id  uuid NOT NULL
);

CREATE INDEX redemption_codes_by_batch ON redemption_codes (batch_id);
