-- Names people give their API keys, management keys and projects are free text, and may hold a
-- person's name: new events carry them sealed with the account holder's vault key (migration
-- 002), and these read models keep the sealed value as the event has it, opened only to be shown.
--
-- name_owner: the person (the account holder) whose vault key sealed `name` (and api_keys.project);
-- NULL when the row holds plain text (a key or project made before this change, or an account
-- with no person, such as one an operator opened by hand).
-- Once the account's erasure starts, a row's names read '(erased)' and owner NULL: the erasure's
-- hook scrubs the rows, and every later write (a replay too) writes the placeholder.
ALTER TABLE api_keys ADD COLUMN name_owner uuid NULL;
ALTER TABLE projects ADD COLUMN name_owner uuid NULL;
ALTER TABLE management_keys ADD COLUMN name_owner uuid NULL;

-- A sealed name is different ciphertext each time, so the database can no longer tell two live
-- projects of one name apart: ProjectsService checks it under the account's lock on the opened
-- names (as it did before, the index was the backstop). An erased account's projects all read
-- '(erased)', which this index would refuse.
DROP INDEX projects_live_name;

-- The erasure check of every write of these rows.
CREATE INDEX erasures_by_account ON erasures (account_id);
