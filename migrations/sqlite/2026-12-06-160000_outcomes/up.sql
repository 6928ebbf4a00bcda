-- Outcomes (api.md §9, §13.5): what a participant achieved, with evidence; verified by a
-- manager; never deleted (a wrong one is retracted with a reason and stays visible).

CREATE TABLE outcomes (
    id                     TEXT PRIMARY KEY NOT NULL,
    participant_id         TEXT NOT NULL REFERENCES participants (id),
    kind                   TEXT NOT NULL CHECK (kind IN ('employment_contract', 'civil_law_contract', 'self_employment', 'social_cooperative', 'supported_employment', 'education', 'training_completed', 'qualification', 'housing_secured', 'abstinence_maintained', 'family_roles_restored', 'debt_settled', 'health_care_started', 'other_social')),
    category               TEXT NOT NULL CHECK (category IN ('vocational', 'social')),
    achieved_on            DATE NOT NULL,
    -- Kind-specific details, one column each so reports can count them in SQL.
    employer               TEXT,
    hours_per_week         INTEGER CHECK (hours_per_week BETWEEN 1 AND 60),
    contract_end           DATE,
    name                   TEXT,
    institution            TEXT,
    description            TEXT,
    evidence_document_type TEXT NOT NULL,
    evidence_reference     TEXT NOT NULL,
    note                   TEXT,
    status                 TEXT NOT NULL CHECK (status IN ('recorded', 'verified', 'retracted')),
    recorded_by            TEXT NOT NULL REFERENCES staff (id),
    verified_by            TEXT REFERENCES staff (id),
    verified_at            TIMESTAMP,
    retracted_by           TEXT REFERENCES staff (id),
    retracted_at           TIMESTAMP,
    retraction_reason      TEXT,
    version                BIGINT NOT NULL,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL,
    CHECK (contract_end IS NULL OR contract_end > achieved_on),
    CHECK ((status = 'retracted') = (retracted_at IS NOT NULL))
);
CREATE INDEX outcomes_participant_idx ON outcomes (participant_id, achieved_on);
