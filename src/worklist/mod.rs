//! The caller's worklist: what is due soon or overdue on their care teams and in the sessions
//! they facilitate (api.md §8, §13.5). Read-only; computed from the case data on each request.

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
