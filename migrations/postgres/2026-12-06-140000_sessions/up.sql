-- Reintegration activities: sessions with their facilitators and invited participants, and
-- attendance (api.md §8, §13.5).

CREATE TABLE sessions (
    id                 TEXT PRIMARY KEY NOT NULL,
    activity_type_code TEXT NOT NULL REFERENCES activity_types (code),
    -- Area and category as they were when the session was planned: edits of the dictionary
    -- never rewrite the hours already reported.
    area               TEXT NOT NULL CHECK (area IN ('social', 'vocational')),
    category           TEXT NOT NULL,
    title              TEXT NOT NULL,
    starts_at          TIMESTAMP NOT NULL,
    -- The calendar day of starts_at in Europe/Warsaw: list filters, "programme open on the
    -- session date" and monthly attendance all speak of this day.
    starts_on          DATE NOT NULL,
    duration_minutes   INTEGER NOT NULL CHECK (duration_minutes BETWEEN 1 AND 600),
    location           TEXT,
    status             TEXT NOT NULL CHECK (status IN ('scheduled', 'cancelled')),
    cancel_reason      TEXT,
    cancelled_at       TIMESTAMP,
    created_by         TEXT NOT NULL REFERENCES staff (id),
    version            BIGINT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);
CREATE INDEX sessions_starts_idx ON sessions (starts_at, id);
CREATE INDEX sessions_starts_on_idx ON sessions (starts_on);

CREATE TABLE session_facilitators (
    session_id TEXT NOT NULL REFERENCES sessions (id),
    staff_id   TEXT NOT NULL REFERENCES staff (id),
    PRIMARY KEY (session_id, staff_id)
);
CREATE INDEX session_facilitators_staff_idx ON session_facilitators (staff_id);

CREATE TABLE session_invitees (
    session_id     TEXT NOT NULL REFERENCES sessions (id),
    participant_id TEXT NOT NULL REFERENCES participants (id),
    PRIMARY KEY (session_id, participant_id)
);
CREATE INDEX session_invitees_participant_idx ON session_invitees (participant_id);

-- One row per participant per session; a PUT replaces a session's rows as a whole.
CREATE TABLE attendance (
    session_id     TEXT NOT NULL REFERENCES sessions (id),
    participant_id TEXT NOT NULL REFERENCES participants (id),
    -- The programme open on the session's day: summaries and reports count by it.
    programme_id   TEXT NOT NULL REFERENCES programmes (id),
    status         TEXT NOT NULL CHECK (status IN ('present', 'late', 'excused', 'absent')),
    minutes        INTEGER NOT NULL CHECK (minutes BETWEEN 0 AND 600),
    note           TEXT,
    recorded_by    TEXT NOT NULL REFERENCES staff (id),
    recorded_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (session_id, participant_id),
    CHECK (status IN ('present', 'late') OR minutes = 0)
);
CREATE INDEX attendance_participant_idx ON attendance (participant_id);
CREATE INDEX attendance_programme_idx ON attendance (programme_id);
