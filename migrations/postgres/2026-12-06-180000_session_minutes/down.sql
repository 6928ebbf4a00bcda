ALTER TABLE sessions DROP COLUMN attended_minutes;
