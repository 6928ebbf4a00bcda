//! Audit-grade reports, computed by SQL aggregation over the participants the caller may see
//! (api.md §10, §13.6).

pub mod annual;
pub mod esf;
pub mod outcomes;
pub mod routes;
