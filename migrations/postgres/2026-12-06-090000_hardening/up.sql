-- Throttle rows past their 15-minute window are pruned on every failure, for every e-mail.
CREATE INDEX login_failures_at_idx ON login_failures (failed_at);

-- TRUNCATE bypasses row triggers: refuse it too, so the log cannot be emptied by mistake.
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
