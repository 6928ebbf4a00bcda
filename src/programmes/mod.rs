//! Programmes (a participant's enrolment, its extension and exit) and the follow-ups an exit
//! schedules (api.md §5, §9, §13.4).

pub mod dates;
pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
