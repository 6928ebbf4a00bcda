-- Throttle rows past their 15-minute window are pruned on every failure, for every e-mail.
CREATE INDEX login_failures_at_idx ON login_failures (failed_at);

-- TRUNCATE bypasses row triggers: refuse it too, so the log cannot be emptied by mistake.
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- Set inside the transaction of the request's own write: a claim whose work committed is never
-- run again, even if its reply could not be stored.
ALTER TABLE idempotency_keys ADD COLUMN committed_at TIMESTAMP;
