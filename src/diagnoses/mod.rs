//! Diagnoses: the diagnosis phase's records of every kind, the Holland RIASEC profile, and
//! professional secrecy for psychological and psychometric findings (api.md §6, §13.5).

pub mod holland;
pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
