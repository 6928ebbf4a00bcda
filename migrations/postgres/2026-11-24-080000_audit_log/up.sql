-- Append-only audit log with a SHA-256 hash chain (api.md §11, §13.7).
CREATE TABLE audit_events (
    seq            BIGINT PRIMARY KEY,
    at             TIMESTAMP NOT NULL,
    actor_id       TEXT,
    actor_roles    TEXT NOT NULL,
    action         TEXT NOT NULL,
    outcome        TEXT NOT NULL CHECK (outcome IN ('allowed', 'denied')),
    entity_type    TEXT,
    entity_id      TEXT,
    participant_id TEXT,
    request_id     TEXT,
    ip             TEXT,
    changed_fields TEXT NOT NULL,
    details        TEXT,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL
);
CREATE INDEX audit_events_participant_idx ON audit_events (participant_id, seq);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, seq);
CREATE INDEX audit_events_action_idx ON audit_events (action, seq);
CREATE INDEX audit_events_at_idx ON audit_events (at);

-- The chain head: one row, locked by every append so `seq` stays gapless and the chain linear.
CREATE TABLE audit_chain_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_chain_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Append-only: the service never updates or deletes an event; neither may anyone else by mistake.
CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
