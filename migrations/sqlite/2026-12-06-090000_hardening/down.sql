ALTER TABLE idempotency_keys DROP COLUMN committed_at;
DROP INDEX login_failures_at_idx;
