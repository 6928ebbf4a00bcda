DROP TABLE attendance;
DROP TABLE session_invitees;
DROP TABLE session_facilitators;
DROP TABLE sessions;
