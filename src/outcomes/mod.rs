//! Outcomes: jobs, courses, qualifications and restored social roles, each with evidence;
//! verified by a manager, retracted (never deleted) when wrong (api.md §9, §13.5).

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
