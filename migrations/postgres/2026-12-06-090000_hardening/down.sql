ALTER TABLE idempotency_keys DROP COLUMN committed_at;
DROP TRIGGER audit_events_no_truncate ON audit_events;
DROP INDEX login_failures_at_idx;
