//! Reintegration activities: group and individual sessions, their facilitators and invitees,
//! bulk attendance, and each participant's attendance record (api.md §8, §13.5).

pub mod attendance;
pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
