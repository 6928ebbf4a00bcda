DROP INDEX login_failures_at_idx;
