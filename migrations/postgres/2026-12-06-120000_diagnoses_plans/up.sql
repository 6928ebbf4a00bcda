-- Diagnoses with their amendments, and Individual Action Plans (IPD) with goals, actions and
-- reviews (api.md §6, §7, §13.5; domain brief §4.1, §4.2).

CREATE TABLE diagnoses (
    id              TEXT PRIMARY KEY NOT NULL,
    participant_id  TEXT NOT NULL REFERENCES participants (id),
    kind            TEXT NOT NULL CHECK (kind IN ('general_survey', 'interests_questionnaire', 'psychometric', 'psychological', 'social', 'vocational', 'holland')),
    status          TEXT NOT NULL CHECK (status IN ('draft', 'final')),
    performed_on    DATE NOT NULL,
    instrument      TEXT,
    summary         TEXT,
    findings        TEXT,
    recommendations TEXT,
    -- Holland scale scores, all six or none (holland diagnoses only).
    score_r         INTEGER CHECK (score_r BETWEEN 0 AND 100),
    score_i         INTEGER CHECK (score_i BETWEEN 0 AND 100),
    score_a         INTEGER CHECK (score_a BETWEEN 0 AND 100),
    score_s         INTEGER CHECK (score_s BETWEEN 0 AND 100),
    score_e         INTEGER CHECK (score_e BETWEEN 0 AND 100),
    score_c         INTEGER CHECK (score_c BETWEEN 0 AND 100),
    author_id       TEXT NOT NULL REFERENCES staff (id),
    -- The role in which the author wrote it: auditors see this, not the person.
    author_role     TEXT NOT NULL,
    finalized_at    TIMESTAMP,
    finalized_by    TEXT REFERENCES staff (id),
    version         BIGINT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    CHECK ((kind = 'holland') = (score_r IS NOT NULL)),
    CHECK ((score_r IS NULL) = (score_i IS NULL) AND (score_r IS NULL) = (score_a IS NULL)
       AND (score_r IS NULL) = (score_s IS NULL) AND (score_r IS NULL) = (score_e IS NULL)
       AND (score_r IS NULL) = (score_c IS NULL)),
    CHECK ((status = 'final') = (finalized_at IS NOT NULL))
);
CREATE INDEX diagnoses_participant_idx ON diagnoses (participant_id, created_at);

-- Amendments are append-only: a final diagnosis never changes, it is amended.
CREATE TABLE diagnosis_amendments (
    id             TEXT PRIMARY KEY NOT NULL,
    diagnosis_id   TEXT NOT NULL REFERENCES diagnoses (id),
    reason         TEXT NOT NULL,
    body           TEXT NOT NULL,
    author_id      TEXT NOT NULL REFERENCES staff (id),
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX diagnosis_amendments_diagnosis_idx ON diagnosis_amendments (diagnosis_id, created_at);

CREATE TABLE plans (
    id                      TEXT PRIMARY KEY NOT NULL,
    participant_id          TEXT NOT NULL REFERENCES participants (id),
    programme_id            TEXT NOT NULL REFERENCES programmes (id),
    version_no              INTEGER NOT NULL CHECK (version_no >= 1),
    status                  TEXT NOT NULL CHECK (status IN ('draft', 'active', 'superseded')),
    -- The active plan a revision was copied from; activating the revision supersedes it.
    revises_plan_id         TEXT REFERENCES plans (id),
    accepted_on             DATE,
    accepted_by_participant BOOLEAN,
    activated_at            TIMESTAMP,
    activated_by            TEXT REFERENCES staff (id),
    next_review_on          DATE,
    created_by              TEXT NOT NULL REFERENCES staff (id),
    version                 BIGINT NOT NULL,
    created_at              TIMESTAMP NOT NULL,
    updated_at              TIMESTAMP NOT NULL,
    CHECK ((status = 'draft') = (activated_at IS NULL))
);
CREATE INDEX plans_participant_idx ON plans (participant_id, created_at);
CREATE INDEX plans_programme_idx ON plans (programme_id);
-- At most one active plan per programme, whatever the service does (two activations racing).
CREATE UNIQUE INDEX plans_one_active ON plans (programme_id) WHERE status = 'active';

CREATE TABLE plan_goals (
    id            TEXT PRIMARY KEY NOT NULL,
    plan_id       TEXT NOT NULL REFERENCES plans (id),
    position      INTEGER NOT NULL,
    area          TEXT NOT NULL CHECK (area IN ('social', 'vocational')),
    title         TEXT NOT NULL,
    description   TEXT,
    indicator     TEXT NOT NULL,
    target_date   DATE NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('planned', 'in_progress', 'achieved', 'abandoned')),
    achieved_on   DATE,
    progress_note TEXT,
    version       BIGINT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    CHECK ((status = 'achieved') = (achieved_on IS NOT NULL))
);
CREATE UNIQUE INDEX plan_goals_position_idx ON plan_goals (plan_id, position);

-- Each goal's status history; a revision copies its goals' history.
CREATE TABLE plan_goal_history (
    id            TEXT PRIMARY KEY NOT NULL,
    goal_id       TEXT NOT NULL REFERENCES plan_goals (id),
    status        TEXT NOT NULL CHECK (status IN ('planned', 'in_progress', 'achieved', 'abandoned')),
    achieved_on   DATE,
    changed_by    TEXT NOT NULL REFERENCES staff (id),
    changed_at    TIMESTAMP NOT NULL
);
CREATE INDEX plan_goal_history_goal_idx ON plan_goal_history (goal_id, changed_at);

CREATE TABLE plan_actions (
    id                   TEXT PRIMARY KEY NOT NULL,
    plan_id              TEXT NOT NULL REFERENCES plans (id),
    goal_id              TEXT NOT NULL REFERENCES plan_goals (id),
    position             INTEGER NOT NULL,
    title                TEXT NOT NULL,
    responsible_staff_id TEXT NOT NULL REFERENCES staff (id),
    due_date             DATE NOT NULL,
    activity_type_code   TEXT REFERENCES activity_types (code),
    status               TEXT NOT NULL CHECK (status IN ('open', 'done', 'cancelled')),
    done_on              DATE,
    version              BIGINT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    CHECK ((status = 'done') = (done_on IS NOT NULL))
);
CREATE UNIQUE INDEX plan_actions_position_idx ON plan_actions (plan_id, position);
CREATE INDEX plan_actions_due_idx ON plan_actions (responsible_staff_id, status, due_date);

CREATE TABLE plan_reviews (
    id             TEXT PRIMARY KEY NOT NULL,
    plan_id        TEXT NOT NULL REFERENCES plans (id),
    reviewed_on    DATE NOT NULL,
    summary        TEXT NOT NULL,
    next_review_on DATE NOT NULL,
    reviewer_id    TEXT NOT NULL REFERENCES staff (id),
    created_at     TIMESTAMP NOT NULL,
    CHECK (next_review_on > reviewed_on)
);
CREATE INDEX plan_reviews_plan_idx ON plan_reviews (plan_id, reviewed_on);
