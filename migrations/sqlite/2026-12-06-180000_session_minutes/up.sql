-- The sum of a session's attendance minutes, kept by every attendance PUT in the same
-- transaction: unit-wide reports add up sessions, not every attendance row.
ALTER TABLE sessions ADD COLUMN attended_minutes BIGINT NOT NULL DEFAULT 0;
