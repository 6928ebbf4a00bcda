-- A caseload listed by name, first page first, is the most frequent list in the service. Each
-- member's row carries the participant's sort keys, so one index walk answers "the first 50 of
-- my caseload by name" without reading and sorting the whole caseload (scripts/bench). The keys
-- are copies of the participant's: written with each membership and on every change of name,
-- anonymisation included (src/participants/repo.rs, `caseload_order`).
ALTER TABLE care_team_members ADD COLUMN last_name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE care_team_members ADD COLUMN first_name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE care_team_members ADD COLUMN last_name TEXT NOT NULL DEFAULT '';
ALTER TABLE care_team_members ADD COLUMN first_name TEXT NOT NULL DEFAULT '';
UPDATE care_team_members SET
  last_name_key = (SELECT p.last_name_key FROM participants p WHERE p.id = care_team_members.participant_id),
  first_name_key = (SELECT p.first_name_key FROM participants p WHERE p.id = care_team_members.participant_id),
  last_name = (SELECT p.last_name FROM participants p WHERE p.id = care_team_members.participant_id),
  first_name = (SELECT p.first_name FROM participants p WHERE p.id = care_team_members.participant_id);
CREATE INDEX care_team_members_caseload_order
  ON care_team_members (staff_id, last_name_key, first_name_key, last_name, first_name, participant_id);
