-- Participants and their case: referrals, qualification, risk groups, care teams, consents,
-- notes, programmes and follow-ups (api.md §5, §13.4; domain brief §2–§7).
CREATE TABLE participants (
    id                      TEXT PRIMARY KEY NOT NULL,
    status                  TEXT NOT NULL CHECK (status IN ('referred', 'qualified', 'rejected', 'in_programme', 'exited', 'anonymised')),
    first_name              TEXT NOT NULL,
    last_name               TEXT NOT NULL,
    first_name_key          TEXT NOT NULL,
    last_name_key           TEXT NOT NULL,
    first_last_key          TEXT NOT NULL,
    last_first_key          TEXT NOT NULL,
    pesel                   TEXT,
    id_document_kind        TEXT CHECK (id_document_kind IN ('passport', 'residence_card', 'id_card', 'other')),
    id_document_number      TEXT,
    id_document_country     TEXT,
    birth_date              DATE NOT NULL,
    sex                     TEXT NOT NULL CHECK (sex IN ('female', 'male')),
    phone                   TEXT,
    email                   TEXT,
    address_street          TEXT,
    address_postal_code     TEXT,
    address_city            TEXT,
    education_level         TEXT CHECK (education_level IN ('isced_0_2', 'isced_3_4', 'isced_5_8')),
    labour_status_at_entry  TEXT CHECK (labour_status_at_entry IN ('unemployed', 'long_term_unemployed', 'inactive', 'employed')),
    disability              BOOLEAN,
    legal_rep_full_name     TEXT,
    legal_rep_relation      TEXT,
    legal_rep_phone         TEXT,
    referral_source         TEXT NOT NULL CHECK (referral_source IN ('ops', 'pup', 'pcpr', 'self', 'ngo', 'court', 'other')),
    referral_reference      TEXT,
    referred_on             DATE NOT NULL,
    version                 BIGINT NOT NULL,
    created_at              TIMESTAMP NOT NULL,
    updated_at              TIMESTAMP NOT NULL
);
-- PESEL is unique among participants that still have one (anonymisation clears it).
CREATE UNIQUE INDEX participants_pesel_key ON participants (pesel);
CREATE INDEX participants_last_first_idx ON participants (last_name_key, first_name_key, last_name, first_name, id);
CREATE INDEX participants_last_prefix_idx ON participants (last_name_key);
CREATE INDEX participants_first_idx ON participants (first_name_key);
CREATE INDEX participants_first_last_idx ON participants (first_last_key);
CREATE INDEX participants_last_first_key_idx ON participants (last_first_key);
CREATE INDEX participants_created_idx ON participants (created_at, id);
CREATE INDEX participants_status_idx ON participants (status);
CREATE INDEX participants_referred_on_idx ON participants (referred_on);

CREATE TABLE referrals (
    id             TEXT PRIMARY KEY NOT NULL,
    participant_id TEXT NOT NULL REFERENCES participants (id),
    source         TEXT NOT NULL CHECK (source IN ('ops', 'pup', 'pcpr', 'self', 'ngo', 'court', 'other')),
    reference      TEXT,
    referred_on    DATE NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    created_by     TEXT NOT NULL
);
CREATE INDEX referrals_participant_idx ON referrals (participant_id, referred_on);

CREATE TABLE qualifications (
    id             TEXT PRIMARY KEY NOT NULL,
    participant_id TEXT NOT NULL REFERENCES participants (id),
    decision       TEXT NOT NULL CHECK (decision IN ('qualified', 'rejected')),
    decided_on     DATE NOT NULL,
    reason         TEXT,
    decided_by     TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX qualifications_participant_idx ON qualifications (participant_id, decided_on);

CREATE TABLE participant_risk_groups (
    participant_id  TEXT NOT NULL REFERENCES participants (id),
    risk_group_code TEXT NOT NULL REFERENCES risk_groups (code),
    evidence        TEXT NOT NULL,
    evidence_date   DATE,
    PRIMARY KEY (participant_id, risk_group_code)
);
CREATE INDEX participant_risk_groups_code_idx ON participant_risk_groups (risk_group_code, participant_id);

CREATE TABLE care_team_members (
    participant_id TEXT NOT NULL REFERENCES participants (id),
    staff_id       TEXT NOT NULL REFERENCES staff (id),
    lead           BOOLEAN NOT NULL,
    PRIMARY KEY (participant_id, staff_id)
);
CREATE INDEX care_team_members_staff_idx ON care_team_members (staff_id, participant_id);
-- Exactly one lead per team: at most one here, at least one checked by the service.
CREATE UNIQUE INDEX care_team_members_one_lead ON care_team_members (participant_id) WHERE lead;

CREATE TABLE consents (
    id                 TEXT PRIMARY KEY NOT NULL,
    participant_id     TEXT NOT NULL REFERENCES participants (id),
    purpose            TEXT NOT NULL CHECK (purpose IN ('contact_after_exit', 'image', 'share_with_employer', 'share_with_ops', 'share_with_pup', 'other')),
    description        TEXT,
    granted_on         DATE NOT NULL,
    expires_on         DATE,
    document_reference TEXT NOT NULL,
    withdrawn_on       DATE,
    withdrawal_note    TEXT,
    version            BIGINT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    created_by         TEXT NOT NULL
);
CREATE INDEX consents_participant_idx ON consents (participant_id, created_at);

CREATE TABLE case_notes (
    id               TEXT PRIMARY KEY NOT NULL,
    participant_id   TEXT NOT NULL REFERENCES participants (id),
    body             TEXT NOT NULL,
    confidentiality  TEXT NOT NULL CHECK (confidentiality IN ('team', 'psychologist')),
    corrects_note_id TEXT REFERENCES case_notes (id),
    author_id        TEXT NOT NULL REFERENCES staff (id),
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX case_notes_participant_idx ON case_notes (participant_id, created_at);
CREATE UNIQUE INDEX case_notes_one_correction ON case_notes (corrects_note_id);

CREATE TABLE programmes (
    id               TEXT PRIMARY KEY NOT NULL,
    participant_id   TEXT NOT NULL REFERENCES participants (id),
    start_date       DATE NOT NULL,
    planned_months   INTEGER NOT NULL,
    planned_end_date DATE NOT NULL,
    basis            TEXT NOT NULL CHECK (basis IN ('kontrakt_socjalny', 'ipzs', 'other')),
    basis_reference  TEXT,
    extension_reason TEXT,
    exit_date        DATE,
    exit_reason      TEXT CHECK (exit_reason IN ('completed', 'employed', 'dropped_out', 'expelled', 'moved', 'health', 'death', 'other')),
    exit_note        TEXT,
    version          BIGINT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX programmes_participant_idx ON programmes (participant_id, start_date);
-- At most one open programme per participant, whatever the service does.
CREATE UNIQUE INDEX programmes_one_open ON programmes (participant_id) WHERE exit_date IS NULL;

CREATE TABLE follow_ups (
    id                TEXT PRIMARY KEY NOT NULL,
    programme_id      TEXT NOT NULL REFERENCES programmes (id),
    participant_id    TEXT NOT NULL REFERENCES participants (id),
    months_after_exit INTEGER NOT NULL,
    due_on            DATE NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('due', 'done', 'unreachable')),
    contacted_on      DATE,
    result            TEXT CHECK (result IN ('employed', 'not_employed', 'education', 'unreachable', 'declined')),
    note              TEXT,
    version           BIGINT NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE INDEX follow_ups_participant_idx ON follow_ups (participant_id, due_on);
CREATE INDEX follow_ups_due_idx ON follow_ups (due_on);
