-- Identity and administration: staff, sessions, login throttling, settings, dictionaries,
-- idempotency keys (api.md §2, §4, §13.1–§13.2, §13.7).
CREATE TABLE staff (
    id                   TEXT PRIMARY KEY NOT NULL,
    email                TEXT NOT NULL,
    full_name            TEXT NOT NULL,
    full_name_key        TEXT NOT NULL,
    password_hash        TEXT NOT NULL,
    active               BOOLEAN NOT NULL,
    active_until         DATE,
    must_change_password BOOLEAN NOT NULL,
    token_version        BIGINT NOT NULL,
    version              BIGINT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
-- E-mails are stored lowercased, so this is case-insensitive uniqueness.
CREATE UNIQUE INDEX staff_email_key ON staff (email);
CREATE INDEX staff_name_idx ON staff (full_name_key, full_name, id);

CREATE TABLE staff_roles (
    staff_id TEXT NOT NULL REFERENCES staff (id),
    role     TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'psychologist', 'social_worker', 'counsellor', 'auditor')),
    PRIMARY KEY (staff_id, role)
);
CREATE INDEX staff_roles_role_idx ON staff_roles (role, staff_id);

CREATE TABLE refresh_tokens (
    id                TEXT PRIMARY KEY NOT NULL,
    family_id         TEXT NOT NULL,
    staff_id          TEXT NOT NULL REFERENCES staff (id),
    token_hash        TEXT NOT NULL,
    family_started_at TIMESTAMP NOT NULL,
    issued_at         TIMESTAMP NOT NULL,
    expires_at        TIMESTAMP NOT NULL,
    used_at           TIMESTAMP,
    revoked_at        TIMESTAMP
);
CREATE UNIQUE INDEX refresh_tokens_hash_key ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_staff_idx ON refresh_tokens (staff_id);

-- Failed logins per (lowercased) e-mail, known or not; a sliding 15-minute window.
CREATE TABLE login_failures (
    id        TEXT PRIMARY KEY NOT NULL,
    email_key TEXT NOT NULL,
    failed_at TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_email_idx ON login_failures (email_key, failed_at);

CREATE TABLE settings (
    id                      INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    unit_name               TEXT NOT NULL,
    unit_kind               TEXT NOT NULL CHECK (unit_kind IN ('kis', 'cis')),
    programme_months        INTEGER NOT NULL,
    follow_up_months        TEXT NOT NULL,
    retention_years         INTEGER NOT NULL,
    project_retention_until DATE,
    review_interval_days    INTEGER NOT NULL,
    version                 BIGINT NOT NULL,
    updated_at              TIMESTAMP NOT NULL
);

CREATE TABLE risk_groups (
    code          TEXT PRIMARY KEY NOT NULL,
    label_en      TEXT NOT NULL,
    label_pl      TEXT NOT NULL,
    legal_basis   TEXT,
    evidence_hint TEXT,
    statutory     BOOLEAN NOT NULL,
    active        BOOLEAN NOT NULL,
    version       BIGINT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE activity_types (
    code       TEXT PRIMARY KEY NOT NULL,
    label_en   TEXT NOT NULL,
    label_pl   TEXT NOT NULL,
    area       TEXT NOT NULL CHECK (area IN ('social', 'vocational')),
    category   TEXT NOT NULL CHECK (category IN ('diagnosis', 'support_group', 'psychoeducation', 'self_education', 'leisure', 'individual_counselling', 'proactive_workshop', 'course', 'work_practice', 'other')),
    active     BOOLEAN NOT NULL,
    version    BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Stored replies of POSTs sent with an Idempotency-Key, kept 24 hours.
CREATE TABLE idempotency_keys (
    staff_id      TEXT NOT NULL,
    idem_key      TEXT NOT NULL,
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER,
    response_body TEXT,
    location      TEXT,
    etag          TEXT,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (staff_id, idem_key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Rows whose update serialises a kind of change across connections (an UPDATE takes the row
-- lock on PostgreSQL; SQLite has one writer anyway), e.g. 'admins' for the last-admin rule.
CREATE TABLE service_locks (
    name    TEXT PRIMARY KEY NOT NULL,
    counter BIGINT NOT NULL
);
INSERT INTO service_locks (name, counter) VALUES ('admins', 0);

-- Settings of a new unit (api.md §4).
INSERT INTO settings (id, unit_name, unit_kind, programme_months, follow_up_months, retention_years, project_retention_until, review_interval_days, version, updated_at)
VALUES (1, 'Klub Integracji Społecznej', 'kis', 12, '[3,6,12]', 5, NULL, 90, 1, '2026-11-24 00:00:00');

-- The 8 statutory risk groups (domain brief §3; api.md §13.7).
INSERT INTO risk_groups (code, label_en, label_pl, legal_basis, evidence_hint, statutory, active, version, created_at, updated_at) VALUES
    ('homeless_exit_programme', 'Homeless people in a homelessness exit programme', 'osoby bezdomne realizujące indywidualny program wychodzenia z bezdomności', 'art. 1 ust. 2 pkt 1 ustawy z dnia 13 czerwca 2003 r. o zatrudnieniu socjalnym (Dz.U. 2025 poz. 83)', 'Individual homelessness exit programme agreed with an OPS social worker: record its number and date.', TRUE, TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('alcohol_after_therapy', 'People with alcohol dependence', 'osoby uzależnione od alkoholu', 'art. 1 ust. 2 pkt 2 ustawy z dnia 13 czerwca 2003 r. o zatrudnieniu socjalnym (Dz.U. 2025 poz. 83)', 'Certificate from the treatment facility: record the facility, the document number and its date, never clinical details.', TRUE, TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('drug_after_therapy', 'People with drug or other substance dependence', 'osoby uzależnione od narkotyków lub innych środków odurzających', 'art. 1 ust. 2 pkt 3 ustawy z dnia 13 czerwca 2003 r. o zatrudnieniu socjalnym (Dz.U. 2025 poz. 83)', 'Certificate from the treatment facility: record the facility, the document number and its date, never clinical details.', TRUE, TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('mental_illness', 'People with mental disorders', 'osoby z zaburzeniami psychicznymi', 'art. 1 ust. 2 pkt 4 ustawy z dnia 13 czerwca 2003 r. o zatrudnieniu socjalnym (Dz.U. 2025 poz. 83)', 'Medical certificate under the Mental Health Protection Act: record the document number and its date, never the diagnosis.', TRUE, TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('long_term_unemployed', 'Long-term unemployed people', 'osoby długotrwale bezrobotne', 'art. 1 ust. 2 pkt 5 ustawy z dnia 13 czerwca 2003 r. o zatrudnieniu socjalnym (Dz.U. 2025 poz. 83)', 'PUP certificate (registered over 12 months in total within the last 24): record its number and date.', TRUE, TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('released_prisoner', 'People released from prison with integration difficulties', 'osoby zwalniane z zakładów karnych mające trudności w integracji ze środowiskiem', 'art. 1 ust. 2 pkt 6 ustawy z dnia 13 czerwca 2003 r. o zatrudnieniu socjalnym (Dz.U. 2025 poz. 83)', 'Record the release certificate and its date, and the social worker''s assessment; never record the offence.', TRUE, TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('refugee_integration', 'Refugees in an individual integration programme', 'uchodźcy realizujący indywidualny program integracji', 'art. 1 ust. 2 pkt 7 ustawy z dnia 13 czerwca 2003 r. o zatrudnieniu socjalnym (Dz.U. 2025 poz. 83)', 'Individual integration programme agreed with the PCPR and the status decision: record their numbers and dates.', TRUE, TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('disability', 'People with disabilities', 'osoby niepełnosprawne', 'art. 1 ust. 2 pkt 8 ustawy z dnia 13 czerwca 2003 r. o zatrudnieniu socjalnym (Dz.U. 2025 poz. 83)', 'Disability-degree, incapacity-for-work or pre-16 disability certificate: record its type, number and date.', TRUE, TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00');

-- The activity types of the model club's programme (api.md §13.7).
INSERT INTO activity_types (code, label_en, label_pl, area, category, active, version, created_at, updated_at) VALUES
    ('support_group', 'Support group', 'grupa wsparcia', 'social', 'support_group', TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('psychoeducation_workshop', 'Psycho-education workshop', 'warsztat psychoedukacyjny', 'social', 'psychoeducation', TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('self_education_group', 'Self-education group', 'grupa samokształceniowa', 'social', 'self_education', TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('leisure_activity', 'Leisure activity', 'zajęcia rekreacyjne', 'social', 'leisure', TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('psychological_counselling', 'Psychological counselling', 'poradnictwo psychologiczne', 'social', 'individual_counselling', TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('social_counselling', 'Social counselling', 'poradnictwo socjalne', 'social', 'individual_counselling', TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('diagnostic_meeting', 'Diagnostic meeting', 'spotkanie diagnostyczne', 'social', 'diagnosis', TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('vocational_counselling', 'Vocational counselling', 'doradztwo zawodowe', 'vocational', 'individual_counselling', TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('job_search_workshop', 'Job search workshop', 'warsztat aktywnego poszukiwania pracy', 'vocational', 'proactive_workshop', TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('cv_workshop', 'CV and cover letter workshop', 'warsztat CV i listu motywacyjnego', 'vocational', 'proactive_workshop', TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('labour_law_basics', 'Basics of labour law', 'podstawy prawa pracy', 'vocational', 'proactive_workshop', TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('workplace_visit', 'Workplace visit', 'wizyta u pracodawcy', 'vocational', 'proactive_workshop', TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('interview_simulation', 'Job interview simulation', 'symulacja rozmowy kwalifikacyjnej', 'vocational', 'proactive_workshop', TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('computer_course', 'Computer course', 'kurs komputerowy', 'vocational', 'course', TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('language_course', 'Language course', 'kurs językowy', 'vocational', 'course', TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('vocational_course', 'Vocational course', 'kurs zawodowy', 'vocational', 'course', TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00'),
    ('work_practice', 'Work practice / internship', 'praktyka zawodowa / staż', 'vocational', 'work_practice', TRUE, 1, '2026-11-24 00:00:00', '2026-11-24 00:00:00');
