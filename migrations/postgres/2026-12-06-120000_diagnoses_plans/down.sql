DROP TABLE plan_reviews;
DROP TABLE plan_actions;
DROP TABLE plan_goal_history;
DROP TABLE plan_goals;
DROP TABLE plans;
DROP TABLE diagnosis_amendments;
DROP TABLE diagnoses;
