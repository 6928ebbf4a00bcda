DROP INDEX care_team_members_caseload_order;
ALTER TABLE care_team_members DROP COLUMN first_name;
ALTER TABLE care_team_members DROP COLUMN last_name;
ALTER TABLE care_team_members DROP COLUMN first_name_key;
ALTER TABLE care_team_members DROP COLUMN last_name_key;
