-- Throttle rows past their 15-minute window are pruned on every failure, for every e-mail.
-- (SQLite has no TRUNCATE; DELETE is refused by the append-only triggers.)
CREATE INDEX login_failures_at_idx ON login_failures (failed_at);

-- Set inside the transaction of the request's own write: a claim whose work committed is never
-- run again, even if its reply could not be stored.
ALTER TABLE idempotency_keys ADD COLUMN committed_at TIMESTAMP;
